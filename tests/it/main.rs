//! Integration tests: one binary, modules by feature.

mod charts;
mod cli;
mod cluster;
mod datasets;
mod generate;
mod ingest;
mod models;
mod queries;
mod report;
mod support;
mod usertables;
mod warranty;
