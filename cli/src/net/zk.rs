//! zk-Functions on the network: `nexus zk deploy`, `nexus zk request`, `nexus query job` and the
//! `nexus prover` process (take open jobs, prove them, submit the proofs, earn the rewards).

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use clap::Args;
use nexus_consensus::client::{Client, CommittedTx};
use nexus_consensus::tx::TxKind;
use nexus_consensus::zk::{JobStatus, ZkJob};
use nexus_consensus::AccountKey;
use nexus_zkvm_bridge::prover::Keys;
use nexus_zkvm_bridge::{cache, prover, DEFAULT_MAX_CYCLES};
use serde_json::json;
use tracing::{info, warn};

use super::keys::resolve;
use super::txs::{send_as, sign, TxArgs};
use super::{show_bytes, NodeArgs};

const TARGET: &str = "nexus::prover";
/// Default pause between two looks at the chain when no job is open.
pub const DEFAULT_POLL_MS: u64 = 1_000;
/// How often a waiting prover checks for SIGTERM/SIGINT.
const STOP_CHECK: Duration = Duration::from_millis(200);

/// `nexus zk deploy`.
#[derive(Args)]
pub struct DeployZkArgs {
    /// The RV32IM ELF (its SHA-256 becomes the program id).
    pub elf: PathBuf,
    #[command(flatten)]
    pub tx: TxArgs,
}

/// `nexus zk request`.
#[derive(Args)]
pub struct RequestArgs {
    /// Program id (hex SHA-256 of the ELF, as `nexus zk deploy` prints it).
    pub program: String,
    /// Input file read by the guest's read ecall, or `-` for stdin (default: empty).
    #[arg(long)]
    pub input: Option<String>,
    /// Reward escrowed from your balance and paid to the prover whose proof verifies first.
    #[arg(long)]
    pub reward: u128,
    #[command(flatten)]
    pub tx: TxArgs,
}

/// `nexus prover`.
#[derive(Args)]
pub struct ProverArgs {
    /// Prove the jobs open now, then exit (0 when every one of them got a verified proof).
    #[arg(long)]
    pub once: bool,
    /// First job id to look at.
    #[arg(long, default_value_t = 0)]
    pub from_job: u64,
    /// Pause between looks at the chain when nothing is open (milliseconds).
    #[arg(long, default_value_t = DEFAULT_POLL_MS)]
    pub poll_ms: u64,
    /// Skip jobs whose reward is below this (a `SubmitProof` pays the verification fuel,
    /// the chain's `zk.verify_fuel` times the fuel price, whether or not it wins).
    #[arg(long, default_value_t = 0)]
    pub min_reward: u128,
    /// Instruction limit of a guest run.
    #[arg(long, default_value_t = DEFAULT_MAX_CYCLES)]
    pub max_cycles: u64,
    /// Public-parameter cache (default: $NEXUS_ZK_CACHE or ~/.cache/nexus/zk).
    #[arg(long)]
    pub cache: Option<PathBuf>,
    #[command(flatten)]
    pub tx: TxArgs,
}

fn parse_program(hex_id: &str) -> Result<[u8; 32]> {
    hex::decode(hex_id.trim_start_matches("0x"))
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| anyhow::anyhow!("program id must be 32 bytes of hex"))
}

pub fn deploy(args: DeployZkArgs) -> Result<i32> {
    let elf =
        std::fs::read(&args.elf).with_context(|| format!("reading {}", args.elf.display()))?;
    // The chain checks it too; refusing here saves a fee.
    nexus_zkvm_bridge::Program::load(&elf).with_context(|| format!("{}", args.elf.display()))?;
    let key = resolve(&args.tx.from, &args.tx.keys)?;
    send_as(&key, &args.tx, TxKind::DeployZk { elf })
}

pub fn request(args: RequestArgs) -> Result<i32> {
    let program = parse_program(&args.program)?;
    if args.reward == 0 {
        bail!("--reward must be positive (it is what a prover earns)");
    }
    let input = crate::zk::read_input(args.input.as_deref())?;
    let key = resolve(&args.tx.from, &args.tx.keys)?;
    send_as(
        &key,
        &args.tx,
        TxKind::RequestProof {
            program,
            input,
            reward: args.reward,
        },
    )
}

fn status_name(s: &JobStatus) -> &'static str {
    match s {
        JobStatus::Open => "open",
        JobStatus::Done(_) => "done",
        JobStatus::Expired { .. } => "expired",
    }
}

/// `nexus query job <id>`.
pub fn query_job(id: u64, node: &NodeArgs) -> Result<i32> {
    let client = node.client();
    let Some(job) = client.zk_job(id)? else {
        let next = client.zk_next_job()?;
        bail!("no zk job {id} (proven absent; {next} jobs so far)");
    };
    let done = match &job.status {
        JobStatus::Done(r) => Some(r),
        _ => None,
    };
    if node.json {
        println!(
            "{}",
            json!({"id": job.id, "program": hex::encode(job.program), "input": hex::encode(&job.input),
                   "requester": job.requester, "reward": job.reward.to_string(),
                   "requested_at": job.requested_at, "expires_at": job.expires_at,
                   "status": status_name(&job.status),
                   "expired_at": match job.status { JobStatus::Expired { height } => Some(height), _ => None },
                   "prover": done.map(|r| r.prover), "output": done.map(|r| hex::encode(&r.output)),
                   "exit_code": done.map(|r| r.exit_code), "cycles": done.map(|r| r.cycles),
                   "proved_at": done.map(|r| r.height), "outbox_id": done.and_then(|r| r.outbox_id).map(hex::encode)})
        );
    } else {
        println!("job        {}", job.id);
        println!("program    {}", hex::encode(job.program));
        println!("input      {} bytes", job.input.len());
        println!("requester  {}", job.requester);
        println!("reward     {}", job.reward);
        println!("requested  at height {}", job.requested_at);
        match &job.status {
            JobStatus::Open => println!("status     open until height {}", job.expires_at),
            JobStatus::Expired { height } => {
                println!("status     expired at height {height}; reward refunded")
            }
            JobStatus::Done(r) => {
                println!("status     done at height {} by {}", r.height, r.prover);
                println!("output     {}", show_bytes(&r.output).trim_end());
                println!("exit       {}", r.exit_code);
                println!("cycles     {}", r.cycles);
                if let Some(o) = &r.outbox_id {
                    let o = hex::encode(o);
                    println!("outbox     {o} (signed for Ethereum: nexus query output {o})");
                }
            }
        }
    }
    Ok(0)
}

/// Signs and submits `kind`, waiting for its block.
fn submit(client: &Client, key: &AccountKey, tx: &TxArgs, kind: TxKind) -> Result<CommittedTx> {
    let bytes = sign(key, tx, kind)?;
    Ok(client.submit(&bytes)?)
}

/// What became of one job this prover worked on.
enum Attempt {
    Proved,
    Failed,
    /// Another prover's proof landed first, or the job expired, while this one was proving.
    Lost,
    Stopped,
}

/// The chain's circuit and this machine's proving keys for it.
struct Circuit {
    k: usize,
    m: usize,
    pinned: [u8; 32],
    keys: Option<Arc<Keys>>,
}

impl Circuit {
    /// Proving keys for the chain's shape, loaded (or generated) on first use and checked
    /// against the verifier-key digest the chain pins: a prover built with another circuit
    /// would only waste fees on proofs every validator refuses.
    fn keys(&mut self, dir: &std::path::Path) -> Result<Arc<Keys>> {
        if let Some(k) = &self.keys {
            return Ok(k.clone());
        }
        let t = Instant::now();
        let loaded = cache::prover_keys(dir, self.k, self.m).context("public parameters")?;
        let digest = cache::verifier_key_digest(&loaded.vk)?;
        if digest != self.pinned {
            bail!(
                "this prover's verifier key for k = {}, m = {} has SHA-256 {}, the chain pins {} \
                 (zk.verifier_key_sha256): its zk circuit is not the chain's",
                self.k,
                self.m,
                hex::encode(digest),
                hex::encode(self.pinned)
            );
        }
        info!(target: TARGET, ms = t.elapsed().as_millis() as u64, k = self.k, m = self.m, cache = %dir.display(), "proving keys loaded");
        let keys = Arc::new(loaded);
        self.keys = Some(keys.clone());
        Ok(keys)
    }
}

/// The order a prover takes open jobs in: highest reward first, then the one expiring first,
/// then the oldest.
fn by_priority(open: &mut [ZkJob]) {
    open.sort_by(|a, b| {
        b.reward
            .cmp(&a.reward)
            .then(a.expires_at.cmp(&b.expires_at))
            .then(a.id.cmp(&b.id))
    });
}

pub fn prover(args: ProverArgs) -> Result<i32> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        signal_hook::flag::register(sig, stop.clone()).context("installing signal handlers")?;
    }
    let key = resolve(&args.tx.from, &args.tx.keys)?;
    let me = key.address();
    let client = args.tx.node.client();
    let zk = client
        .params()
        .context("reading the chain parameters")?
        .value
        .zk;
    let (k, m) = zk.shape();
    let mut circuit = Circuit {
        k,
        m,
        pinned: zk.verifier_key_sha256,
        keys: None,
    };
    if client.zk_prover(&me)?.is_none() {
        let r = submit(&client, &key, &args.tx, TxKind::RegisterProver)?;
        if r.code != 0 {
            bail!("registering {me} as a prover failed: {}", r.log);
        }
        info!(target: TARGET, prover = %me, height = r.height, "registered as a prover");
    }
    let dir = args.cache.clone().unwrap_or_else(cache::default_cache_dir);
    let mut handled: BTreeSet<u64> = BTreeSet::new();
    let mut cursor = args.from_job;
    let mut failures = 0u32;
    info!(target: TARGET, prover = %me, node = %args.tx.node.node, once = args.once, k, m, "prover started");
    // With --once, the jobs that exist at the first look (later ones wait for another run).
    let mut once_until: Option<u64> = None;
    while !stop.load(Ordering::Relaxed) {
        let mut next = client.zk_next_job()?;
        if args.once {
            next = *once_until.get_or_insert(next);
        }
        let (height, _) = client.status()?;
        let mut open = Vec::new();
        for id in cursor..next {
            if handled.contains(&id) {
                continue;
            }
            match client.zk_job(id)? {
                Some(job) if job.status == JobStatus::Open && job.expires_at > height => {
                    if job.reward >= args.min_reward {
                        open.push(job)
                    } else {
                        info!(target: TARGET, job = id, reward = job.reward, "skipped: reward below --min-reward");
                        handled.insert(id);
                    }
                }
                _ => {
                    handled.insert(id);
                }
            }
        }
        while handled.remove(&cursor) {
            cursor += 1;
        }
        by_priority(&mut open);
        // One job per look at the chain: after a proof, the next choice sees the jobs (and
        // rewards) that arrived meanwhile.
        if let Some(job) = open.first() {
            let keys = circuit.keys(&dir)?;
            match work(&client, &key, &args, &keys, job, &stop)? {
                Attempt::Proved | Attempt::Lost => {}
                Attempt::Failed => failures += 1,
                Attempt::Stopped => break,
            }
            handled.insert(job.id);
            if open.len() > 1 || !args.once {
                continue;
            }
        }
        if args.once {
            break;
        }
        let until = Instant::now() + Duration::from_millis(args.poll_ms);
        while Instant::now() < until && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(STOP_CHECK);
        }
    }
    if stop.load(Ordering::Relaxed) {
        info!(target: TARGET, "stopping on signal");
    }
    Ok(if failures == 0 { 0 } else { 1 })
}

/// Whether `job` can still earn its reward: open and not past its last block.
fn still_open(client: &Client, id: u64) -> Result<bool> {
    let (height, _) = client.status()?;
    Ok(
        matches!(client.zk_job(id)?, Some(j) if j.status == JobStatus::Open && j.expires_at > height),
    )
}

/// Proves one job and submits the proof. Node and network errors are `Err`; a job that cannot
/// be proved or whose proof the chain refused is [`Attempt::Failed`]; a job another prover
/// finished (or that expired) meanwhile is abandoned as [`Attempt::Lost`] at the next folding
/// step, and never submitted.
fn work(
    client: &Client,
    key: &AccountKey,
    args: &ProverArgs,
    keys: &Arc<Keys>,
    job: &ZkJob,
    stop: &AtomicBool,
) -> Result<Attempt> {
    let Some(program) = client.zk_program(&job.program)? else {
        warn!(target: TARGET, job = job.id, "the job's program is not deployed");
        return Ok(Attempt::Failed);
    };
    info!(target: TARGET, job = job.id, program = %hex::encode(job.program), input_bytes = job.input.len(), reward = job.reward, "proving");
    let started = Instant::now();
    let (tx, rx) = mpsc::channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let (keys2, elf, input, max_cycles, id, cancel2) = (
        keys.clone(),
        program.elf,
        job.input.clone(),
        args.max_cycles,
        job.id,
        cancel.clone(),
    );
    // Proving runs on its own thread so the prover keeps watching the job and the signals.
    std::thread::Builder::new()
        .name(format!("prove-{id}"))
        .spawn(move || {
            let mut last_decile = 0;
            let proof =
                prover::prove_until(&keys2, &elf, &input, max_cycles, &cancel2, |done, total| {
                    let decile = done * 10 / total.max(1);
                    if decile > last_decile {
                        last_decile = decile;
                        info!(target: TARGET, job = id, step = done, steps = total, "folding");
                    }
                });
            tx.send(proof).ok();
        })
        .context("spawning the proving thread")?;
    let watch_every = Duration::from_millis(args.poll_ms.max(STOP_CHECK.as_millis() as u64));
    let mut next_watch = Instant::now() + watch_every;
    let proof = loop {
        match rx.recv_timeout(STOP_CHECK) {
            Ok(p) => break p,
            Err(mpsc::RecvTimeoutError::Timeout) if stop.load(Ordering::Relaxed) => {
                cancel.store(true, Ordering::Relaxed);
                info!(target: TARGET, job = id, "signal received; abandoning the proof");
                return Ok(Attempt::Stopped);
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                if Instant::now() >= next_watch {
                    next_watch = Instant::now() + watch_every;
                    if !still_open(client, id)? {
                        cancel.store(true, Ordering::Relaxed);
                        info!(target: TARGET, job = id, "job proved by another prover or expired; abandoning the proof");
                        return Ok(Attempt::Lost);
                    }
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => bail!("the proving thread died"),
        }
    };
    let proof = match proof
        .map_err(anyhow::Error::from)
        .and_then(|p| Ok(p.to_bytes()?))
    {
        Ok(p) => p,
        Err(e) => {
            warn!(target: TARGET, job = id, error = %format!("{e:#}"), "cannot prove this job");
            return Ok(Attempt::Failed);
        }
    };
    info!(target: TARGET, job = id, ms = started.elapsed().as_millis() as u64, bytes = proof.len(), "proved");
    // A proof for a job that is no longer open would only cost its fee.
    if !still_open(client, id)? {
        info!(target: TARGET, job = id, "job proved by another prover or expired meanwhile; not submitting");
        return Ok(Attempt::Lost);
    }
    let r = submit(
        client,
        key,
        &args.tx,
        TxKind::SubmitProof { job: id, proof },
    )?;
    if r.code != 0 {
        // Two provers can submit in the same block: the first proof closes the job and the
        // second is refused (its verification fuel is still paid). That is a lost race, not a
        // failure; a refusal while the job stays open is.
        match client.zk_job(id)?.map(|j| j.status) {
            Some(JobStatus::Done(result)) if result.prover != key.address() => {
                info!(target: TARGET, job = id, winner = %result.prover, log = %r.log,
                    "another prover's proof landed first, in the same block; proof not accepted");
                return Ok(Attempt::Lost);
            }
            Some(JobStatus::Expired { .. }) => {
                info!(target: TARGET, job = id, log = %r.log, "the job expired before the proof landed");
                return Ok(Attempt::Lost);
            }
            _ => {}
        }
        warn!(target: TARGET, job = id, code = r.code, log = %r.log, "proof refused");
        return Ok(Attempt::Failed);
    }
    info!(target: TARGET, job = id, height = r.height, reward = job.reward, "proof verified; reward earned");
    Ok(Attempt::Proved)
}

#[cfg(test)]
mod tests {
    use super::*;
    use nexus_consensus::address::Address;

    fn job(id: u64, reward: u128, expires_at: u64) -> ZkJob {
        ZkJob {
            id,
            program: [0; 32],
            input: vec![],
            requester: Address::default(),
            reward,
            requested_at: 0,
            expires_at,
            status: JobStatus::Open,
        }
    }

    #[test]
    fn jobs_are_taken_by_reward_then_deadline_then_age() {
        let mut open = vec![
            job(0, 5, 100),
            job(1, 9, 300),
            job(2, 5, 50),
            job(3, 9, 300),
            job(4, 1, 10),
        ];
        by_priority(&mut open);
        let order: Vec<u64> = open.iter().map(|j| j.id).collect();
        assert_eq!(order, vec![1, 3, 2, 0, 4]);
    }
}
