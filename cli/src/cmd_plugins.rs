//! `logitloom plugins list|check` (owned by the plugin-system work).
#[derive(clap::Subcommand)]
pub enum PluginsCommand {
    /// Built-ins and the plugins found in the plugin directories.
    List,
}
pub fn run(_cmd: PluginsCommand) -> anyhow::Result<()> {
    anyhow::bail!("plugins is not implemented yet")
}
