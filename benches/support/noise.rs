//! A small deterministic generator (xorshift64) for fixed benchmark and test
//! data without a dependency. Shared by the benches and `tests/it/charts.rs`.

/// Uniform and normal draws from a fixed seed.
pub struct Noise(pub u64);

impl Noise {
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    #[allow(dead_code)] // not every user draws normals
    pub fn normal(&mut self) -> f64 {
        let (u, v) = (self.uniform().max(1e-12), self.uniform());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}
