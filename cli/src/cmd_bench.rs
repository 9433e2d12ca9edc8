//! `logitloom bench` (owned by the collapse-benchmark work).
#[derive(clap::Args)]
pub struct BenchArgs {}
pub fn run(_args: BenchArgs) -> anyhow::Result<()> {
    anyhow::bail!("bench is not implemented yet")
}
