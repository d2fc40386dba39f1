//! Integration tests: one binary, modules by feature.

mod cli;
mod datasets;
mod generate;
mod ingest;
mod queries;
mod report;
mod support;
