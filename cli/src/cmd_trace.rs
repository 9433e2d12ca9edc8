//! `logitloom plot-entropy` (owned by the standard-plugins work).
#[derive(clap::Args)]
pub struct PlotEntropyArgs {}
pub fn run(_args: PlotEntropyArgs) -> anyhow::Result<()> {
    anyhow::bail!("plot-entropy is not implemented yet")
}
