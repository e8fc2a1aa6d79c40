use std::io::Write;

use clap::CommandFactory;

use crate::cli::Cli;

pub(crate) fn run(shell: clap_complete::Shell) -> anyhow::Result<()> {
    let mut cmd = Cli::command();
    // Generate into memory: clap_complete panics on a write error, and `llf completions … | head`
    // must end quietly.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cmd, "llf", &mut script);
    std::io::stdout().lock().write_all(&script)?;
    Ok(())
}
