//! `nexus zk …`: zk-Functions (RISC-V programs): execute, prove (Nova folding + compressed
//! SNARK), verify locally; deploy and request proofs on the network (`crate::net::zk`).

use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::Subcommand;
use nexus_zkvm_bridge::proof::Proof;
use nexus_zkvm_bridge::prover::{DEFAULT_K, DEFAULT_M};
use nexus_zkvm_bridge::{cache, prover, run, Program, RunConfig, DEFAULT_MAX_CYCLES};

pub(crate) fn read_input(input: Option<&str>) -> Result<Vec<u8>> {
    use std::io::Read;
    Ok(match input {
        None => Vec::new(),
        Some("-") => {
            let mut buf = Vec::new();
            std::io::stdin().read_to_end(&mut buf)?;
            buf
        }
        Some(path) => std::fs::read(path).with_context(|| format!("reading {path}"))?,
    })
}

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
    /// Prove an RV32IM ELF's run on an input; writes a compressed proof file.
    Prove {
        elf: PathBuf,
        /// Input file read by the guest's read ecall, or `-` for stdin.
        #[arg(long)]
        input: Option<String>,
        /// Proof file to write (default: `ELF.nxproof`).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Instruction limit.
        #[arg(long, default_value_t = DEFAULT_MAX_CYCLES)]
        max_cycles: u64,
        /// Instructions per folding step.
        #[arg(long, default_value_t = DEFAULT_K)]
        k: usize,
        /// Memory-audit rows per folding step.
        #[arg(long, default_value_t = DEFAULT_M)]
        m: usize,
        /// Public-parameter cache (default: $NEXUS_ZK_CACHE or ~/.cache/nexus/zk).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Deploy an RV32IM ELF to the network as a zk-Function (its id is the ELF's SHA-256).
    Deploy(crate::net::zk::DeployZkArgs),
    /// Request a proof of a deployed zk-Function on an input, escrowing a reward for the prover.
    Request(crate::net::zk::RequestArgs),
    /// Verify a proof for exactly this ELF and input; prints the proved output and cycles.
    Verify {
        proof: PathBuf,
        /// The program the proof claims to run (its hash and image are checked).
        #[arg(long)]
        elf: PathBuf,
        /// The input the proof claims (default: empty), or `-` for stdin.
        #[arg(long)]
        input: Option<String>,
        /// Public-parameter cache (default: $NEXUS_ZK_CACHE or ~/.cache/nexus/zk).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
}

pub fn zk(command: ZkCommand) -> Result<i32> {
    match command {
        ZkCommand::Deploy(a) => crate::net::zk::deploy(a),
        ZkCommand::Request(a) => crate::net::zk::request(a),
        ZkCommand::Run {
            elf,
            input,
            max_cycles,
        } => {
            use std::io::Write;
            let bytes =
                std::fs::read(&elf).with_context(|| format!("reading {}", elf.display()))?;
            let program = Program::load(&bytes).with_context(|| format!("{}", elf.display()))?;
            let input = read_input(input.as_deref())?;
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
        ZkCommand::Prove {
            elf,
            input,
            out,
            max_cycles,
            k,
            m,
            cache: dir,
        } => {
            let bytes =
                std::fs::read(&elf).with_context(|| format!("reading {}", elf.display()))?;
            let input = read_input(input.as_deref())?;
            let dir = dir.unwrap_or_else(cache::default_cache_dir);
            let t = std::time::Instant::now();
            let keys = cache::prover_keys(&dir, k, m).context("public parameters")?;
            eprintln!("parameters  {:.2?} (cache {})", t.elapsed(), dir.display());
            let bar = indicatif::ProgressBar::new(0);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "folding {bar:40} {pos}/{len} steps  {elapsed_precise} eta {eta}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            let t = std::time::Instant::now();
            let proof = prover::prove(&keys, &bytes, &input, max_cycles, |done, total| {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                if done == total {
                    bar.set_message("compressing");
                }
            })
            .with_context(|| format!("proving {}", elf.display()))?;
            bar.finish_and_clear();
            let elapsed = t.elapsed();
            let out = out.unwrap_or_else(|| {
                let mut p = elf.clone().into_os_string();
                p.push(".nxproof");
                PathBuf::from(p)
            });
            let encoded = proof.to_bytes()?;
            std::fs::write(&out, &encoded).with_context(|| format!("writing {}", out.display()))?;
            let cycles = proof.public.cycles;
            eprintln!(
                "proved      {} cycles in {} steps, {:.2?} ({:.1} cycles/s)",
                cycles,
                proof.num_steps,
                elapsed,
                cycles as f64 / elapsed.as_secs_f64().max(1e-9)
            );
            eprintln!("exit        {}", proof.public.exit_code);
            eprintln!("proof       {} ({} bytes)", out.display(), encoded.len());
            Ok(0)
        }
        ZkCommand::Verify {
            proof,
            elf,
            input,
            cache: dir,
        } => {
            use std::io::Write;
            let t = std::time::Instant::now();
            let pbytes =
                std::fs::read(&proof).with_context(|| format!("reading {}", proof.display()))?;
            let ebytes =
                std::fs::read(&elf).with_context(|| format!("reading {}", elf.display()))?;
            let input = read_input(input.as_deref())?;
            let p = Proof::from_bytes(&pbytes).with_context(|| format!("{}", proof.display()))?;
            let dir = dir.unwrap_or_else(cache::default_cache_dir);
            let vk = cache::verifier_key(&dir, p.k, p.m).context("verifier key")?;
            let public = prover::verify(&vk, p.k, p.m, &p, &ebytes, &input)
                .with_context(|| format!("proof {} rejected", proof.display()))?;
            std::io::stdout().write_all(&public.output)?;
            eprintln!("verified    in {:.2?}", t.elapsed());
            eprintln!("exit        {}", public.exit_code);
            eprintln!("cycles      {}", public.cycles);
            Ok(0)
        }
    }
}
