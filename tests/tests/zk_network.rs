//! zk-Functions on a real devnet: `nexus zk deploy` a C guest, `nexus zk request` a proof, two
//! real `nexus prover --once` processes race to prove it (one wins, the other loses cleanly),
//! the four validators verify the proof in FinalizeBlock, and the output is threshold-signed
//! like any function output.
//!
//! Slow by nature (about 70 s on 2 cores in a debug build, cached parameters): each prover loads
//! its keys and proves the smallest guest (`echo`, 190 cycles, 12 folding steps), and each
//! validator loads the verifier key once. The public parameters are cached in `$NEXUS_ZK_CACHE` (default: a
//! directory under the target dir shared by the workspace's tests), so only the first run ever
//! generates them (before the devnet starts).

#[path = "support/devnet.rs"]
mod devnet;
mod support;

use devnet::{run_ok, signed_output, wait_for, Devnet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use support::{nexus, nexus_bin};

const MINUTE: Duration = Duration::from_secs(60);
/// echo reverses its input; its exit code (a checksum) is 0 for `ef`, so the output is signed.
const INPUT: &[u8] = b"ef";
const OUTPUT: &[u8] = b"len=2 reversed=fe\n";

fn key_cache() -> PathBuf {
    let dir = std::env::var_os("NEXUS_ZK_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("zk-cache"));
    // Inherited by `nexus devnet up`, its nodes (the verifier key) and the prover.
    std::env::set_var("NEXUS_ZK_CACHE", &dir);
    // On a cold cache, generate the parameters once here rather than in five processes at once.
    let (k, m) = (
        nexus_zkvm_bridge::prover::DEFAULT_K,
        nexus_zkvm_bridge::prover::DEFAULT_M,
    );
    if !nexus_zkvm_bridge::cache::verifier_key_path(&dir, k, m).exists() {
        nexus_zkvm_bridge::cache::prover_keys(&dir, k, m).expect("public parameters");
    }
    dir
}

fn build_guests(out: &Path) {
    let guests = Path::new(env!("CARGO_MANIFEST_DIR")).join("../zkvm-bridge/guests");
    let status = Command::new("make")
        .args(["-s", "-C"])
        .arg(&guests)
        .arg(format!("OUT={}", out.display()))
        .status()
        .expect("make (run deploy/install-deps.sh for gcc-riscv64-unknown-elf)");
    assert!(status.success(), "building zk guests failed");
}

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"))
}

/// `nexus args… --node <node 0>`, expected to fail; returns its stderr.
fn cli_err(net: &Devnet, args: &[&str]) -> String {
    let rpc = net.rpc(0);
    let mut all = args.to_vec();
    all.extend_from_slice(&["--node", &rpc]);
    let out = nexus(&all, b"");
    assert!(!out.status.success(), "nexus {args:?} should have failed");
    String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout)
}

#[test]
fn a_prover_proves_a_requested_job_and_the_network_signs_the_verified_output() {
    let started = Instant::now();
    let cache = key_cache();
    let work = tempfile::tempdir().unwrap();
    build_guests(work.path());
    let echo = work.path().join("echo");
    let input = work.path().join("input");
    std::fs::write(&input, INPUT).unwrap();
    let net = Devnet::up(4, 29300, &[]);
    let faucet = net.faucet_path();
    let (echo_s, input_s) = (echo.to_str().unwrap(), input.to_str().unwrap());

    // Bad deploys and requests fail with clear errors (locally or on chain).
    let not_elf = work.path().join("not-elf");
    let mut wasm_like = b"\0asm\x01\0\0\0".to_vec();
    wasm_like.resize(128, 0);
    std::fs::write(&not_elf, wasm_like).unwrap();
    let err = cli_err(
        &net,
        &["zk", "deploy", not_elf.to_str().unwrap(), "--from", &faucet],
    );
    assert!(err.contains("not an ELF file"), "{err}");

    let out = net.cli(0, &["zk", "deploy", echo_s, "--from", &faucet, "--json"]);
    let v = json(&out);
    assert_eq!(v["code"], 0, "{out}");
    let program = v["events"][0]["data"].as_str().unwrap().to_string();
    assert_eq!(program.len(), 64);

    let err = cli_err(
        &net,
        &[
            "zk",
            "request",
            &program,
            "--input",
            input_s,
            "--reward",
            "1000000000000000000000000000",
            "--from",
            &faucet,
        ],
    );
    assert!(
        err.contains("insufficient_balance") || err.contains("is below"),
        "{err}"
    );

    let out = net.cli(
        0,
        &[
            "zk", "request", &program, "--input", input_s, "--reward", "5000", "--from", &faucet,
            "--json",
        ],
    );
    let v = json(&out);
    assert_eq!(v["code"], 0, "{out}");
    let job = v["zk_job"].as_u64().expect("a job id");

    // Two fresh, funded accounts run a prover each (they register themselves), racing for the
    // same job: exactly one earns the reward; the other abandons its proof, does not submit
    // it, or has it refused in the same block, and counts that as lost, not failed (exit 0).
    let provers: Vec<(String, PathBuf)> = (0..2)
        .map(|i| {
            let key = nexus_consensus::AccountKey::generate();
            let path = work.path().join(format!("prover{i}.key"));
            std::fs::write(&path, hex::encode(key.to_bytes())).unwrap();
            let addr = key.address().to_string();
            net.cli(
                0,
                &[
                    "transfer",
                    "--to",
                    &addr,
                    "--amount",
                    "10000000000",
                    "--from",
                    &faucet,
                ],
            );
            (addr, path)
        })
        .collect();
    let t = Instant::now();
    let racers: Vec<_> = provers
        .iter()
        .enumerate()
        .map(|(i, (_, path))| {
            Command::new(nexus_bin())
                .args(["prover", "--once", "--from"])
                .arg(path)
                .args(["--node", &net.rpc(1 + i), "--cache"])
                .arg(&cache)
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let logs: Vec<String> = racers
        .into_iter()
        .map(|child| {
            let out = child.wait_with_output().unwrap();
            let log = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(out.status.success(), "nexus prover --once failed:\n{log}");
            assert!(log.contains("registered as a prover"), "{log}");
            log
        })
        .collect();
    eprintln!("two racing provers took {:.1?}", t.elapsed());
    let winners: Vec<usize> = (0..2)
        .filter(|&i| logs[i].contains("proof verified; reward earned"))
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "exactly one prover wins:\n{}\n---\n{}",
        logs[0],
        logs[1]
    );
    let (winner, loser) = (winners[0], 1 - winners[0]);
    let lost = [
        "abandoning the proof",
        "not submitting",
        "proof not accepted",
    ];
    assert!(
        lost.iter().any(|l| logs[loser].contains(l)),
        "the other prover says how it lost:\n{}",
        logs[loser]
    );
    eprintln!(
        "loser: {}",
        logs[loser]
            .lines()
            .find(|l| lost.iter().any(|m| l.contains(m)))
            .unwrap()
    );
    let (prover_addr, key_path) = (&provers[winner].0, &provers[winner].1);

    // The job is done with the right output, read with a proof from another validator (once it
    // has committed the prover's block).
    wait_for("node 2 to see the job done", MINUTE, || {
        net.client(2)
            .zk_job(job)
            .unwrap()
            .is_some_and(|j| matches!(j.status, nexus_consensus::zk::JobStatus::Done(_)))
    });
    let out = net.cli(2, &["query", "job", &job.to_string(), "--json"]);
    let v = json(&out);
    assert_eq!(v["status"], "done", "{out}");
    assert_eq!(v["output"].as_str().unwrap(), hex::encode(OUTPUT));
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["prover"].as_str().unwrap(), prover_addr.as_str());
    let outbox: [u8; 32] = hex::decode(v["outbox_id"].as_str().expect("an outbox id"))
        .unwrap()
        .try_into()
        .unwrap();
    let out = signed_output(&net, &outbox, 3 * MINUTE);
    assert_eq!(out.item.output, OUTPUT);
    assert_eq!(out.item.function, format!("zk:{program}"));
    // Every validator verified the proof inside FinalizeBlock; their logs say how long it took.
    for i in 0..4 {
        let mut log = String::new();
        wait_for(
            &format!("node {i} to log the verified proof"),
            MINUTE,
            || {
                log = std::fs::read_to_string(net.home(i).join("node.log")).unwrap_or_default();
                log.contains("proof verified")
            },
        );
        let line = log.lines().find(|l| l.contains("proof verified")).unwrap();
        let us = line
            .split("verify_us=")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .unwrap_or("?");
        eprintln!("node {i}: proof verified in FinalizeBlock in {us} µs");
    }

    // Nothing is left to prove: --once exits at once.
    let (key_s, rpc) = (key_path.to_str().unwrap(), net.rpc(1));
    let out = run_ok(&["prover", "--once", "--from", key_s, "--node", &rpc]);
    assert!(out.is_empty(), "{out}");

    // A long-running prover stops cleanly on SIGTERM.
    let mut child = Command::new(nexus_bin())
        .args([
            "prover",
            "--from",
            key_s,
            "--node",
            &rpc,
            "--poll-ms",
            "200",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    // SAFETY: signalling the child this test spawned.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        assert!(Instant::now() < deadline, "prover ignored SIGTERM");
        std::thread::sleep(Duration::from_millis(100));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert!(status.success(), "{status}: {stderr}");
    assert!(stderr.contains("stopping on signal"), "{stderr}");
    eprintln!("zk network test took {:.1?}", started.elapsed());
}
