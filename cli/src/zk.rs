//! `nexus zk …`: zk-Functions (RISC-V programs). Today: execute only; proving comes with the
//! zkVM's prover.

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use nexus_zkvm_bridge::{run, Program, RunConfig, DEFAULT_MAX_CYCLES};

#[derive(Subcommand)]
pub enum ZkCommand {
    /// Execute an RV32IM ELF (no proof): print its output, exit code and cycle count.
    Run {
        elf: PathBuf,
        /// Input file read by the guest's read ecall, or `-` for stdin.
        #[arg(long)]
        input: Option<String>,
        /// Instruction limit.
        #[arg(long, default_value_t = DEFAULT_MAX_CYCLES)]
        max_cycles: u64,
    },
}

pub fn zk(command: ZkCommand) -> Result<i32> {
    match command {
        ZkCommand::Run {
            elf,
            input,
            max_cycles,
        } => {
            use std::io::{Read, Write};
            let bytes =
                std::fs::read(&elf).with_context(|| format!("reading {}", elf.display()))?;
            let program = Program::load(&bytes).with_context(|| format!("{}", elf.display()))?;
            let input = match input.as_deref() {
                None => Vec::new(),
                Some("-") => {
                    let mut buf = Vec::new();
                    std::io::stdin().read_to_end(&mut buf)?;
                    buf
                }
                Some(path) => std::fs::read(path).with_context(|| format!("reading {path}"))?,
            };
            let config = RunConfig {
                max_cycles,
                ..RunConfig::default()
            };
            let outcome = run(&program, &input, &config)
                .with_context(|| format!("executing {}", elf.display()))?;
            std::io::stdout().write_all(&outcome.output)?;
            eprintln!("exit   {}", outcome.exit_code);
            eprintln!("cycles {}", outcome.cycles);
            Ok(if outcome.exit_code == 0 { 0 } else { 2 })
        }
    }
}
