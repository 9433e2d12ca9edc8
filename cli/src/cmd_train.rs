//! `logitloom prepare|train|plot-loss` (owned by the trainer work).
#[derive(clap::Args)]
pub struct PrepareArgs {}
#[derive(clap::Args)]
pub struct TrainArgs {}
#[derive(clap::Args)]
pub struct PlotLossArgs {}
pub fn run_prepare(_args: PrepareArgs) -> anyhow::Result<()> {
    anyhow::bail!("prepare is not implemented yet")
}
pub fn run_train(_args: TrainArgs) -> anyhow::Result<()> {
    anyhow::bail!("train is not implemented yet")
}
pub fn run_plot_loss(_args: PlotLossArgs) -> anyhow::Result<()> {
    anyhow::bail!("plot-loss is not implemented yet")
}
