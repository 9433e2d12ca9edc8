//! `logitloom generate|score`.
#[derive(clap::Args)]
pub struct GenerateArgs {}
#[derive(clap::Args)]
pub struct ScoreArgs {}
pub fn run_generate(_args: GenerateArgs) -> anyhow::Result<()> {
    anyhow::bail!("generate is not implemented yet")
}
pub fn run_score(_args: ScoreArgs) -> anyhow::Result<()> {
    anyhow::bail!("score is not implemented yet")
}
