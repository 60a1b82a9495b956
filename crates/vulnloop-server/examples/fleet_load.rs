//! Load generator for the fleet server: enrolls simulated agents and uploads
//! real inventories, then prints throughput and latency percentiles as JSON.
//!
//! Run it through `scripts/bench-fleet.sh`, which starts the server and
//! writes the inventories. Only loopback servers are accepted.
//!
//! ```text
//! fleet_load --server http://127.0.0.1:PORT --admin-token vlu_… \
//!     --inventory debian.json:70 --inventory ubuntu.json:15 … \
//!     --agents 2000 --uploads 10000 --concurrency 32 --time-limit 900 \
//!     --change-every 4
//! ```
//!
//! Each agent gets one base inventory, chosen by the weights, and a host name
//! of its own. Hosts of one role differ in what is installed, so each agent
//! leaves out its own 0–5 % of the base packages (a seeded choice). Later
//! uploads of an agent are the same inventory, as on a host where nothing
//! changed, except every `--change-every`th round (4 by default), which drops
//! one more package, as after a removal. With `--change-every 1` every
//! upload after the first differs from the one before.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

/// Settings from the command line.
struct Settings {
    server: String,
    admin_token: String,
    inventories: Vec<(String, u32)>,
    agents: usize,
    uploads: usize,
    concurrency: usize,
    time_limit: Duration,
    change_every: usize,
}

fn parse_args() -> anyhow::Result<Settings> {
    let mut settings = Settings {
        server: String::new(),
        admin_token: String::new(),
        inventories: Vec::new(),
        agents: 2000,
        uploads: 10_000,
        concurrency: 32,
        time_limit: Duration::from_secs(900),
        change_every: 4,
    };
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--server" => settings.server = value.trim_end_matches('/').to_string(),
            "--admin-token" => settings.admin_token = value,
            "--inventory" => {
                let (path, weight) = value.rsplit_once(':').unwrap_or((value.as_str(), "1"));
                let weight = weight
                    .parse()
                    .with_context(|| format!("invalid weight in --inventory {value}"))?;
                settings.inventories.push((path.to_string(), weight));
            }
            "--agents" => settings.agents = value.parse().context("invalid --agents")?,
            "--uploads" => settings.uploads = value.parse().context("invalid --uploads")?,
            "--concurrency" => {
                settings.concurrency = value.parse().context("invalid --concurrency")?
            }
            "--time-limit" => {
                settings.time_limit =
                    Duration::from_secs(value.parse().context("invalid --time-limit")?)
            }
            "--change-every" => {
                settings.change_every = value.parse().context("invalid --change-every")?
            }
            _ => bail!("unknown option {flag}"),
        }
    }
    let loopback = [
        "http://127.0.0.1:",
        "https://127.0.0.1:",
        "http://[::1]:",
        "https://[::1]:",
    ];
    if !loopback
        .iter()
        .any(|prefix| settings.server.starts_with(prefix))
    {
        bail!(
            "--server must be a loopback URL such as http://127.0.0.1:8080, not {:?}",
            settings.server
        );
    }
    if settings.inventories.is_empty() || settings.admin_token.is_empty() {
        bail!("give --admin-token and at least one --inventory FILE[:WEIGHT]");
    }
    if settings.agents == 0
        || settings.uploads < settings.agents
        || settings.concurrency == 0
        || settings.change_every == 0
    {
        bail!("--agents must be at least 1, --uploads at least --agents, and --concurrency and --change-every at least 1");
    }
    Ok(settings)
}

/// A small deterministic generator (SplitMix64), so runs are repeatable.
struct Seeded(u64);

impl Seeded {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// One simulated agent: its token and the package list it uploads.
struct Agent {
    token: String,
    inventory: Value,
}

/// Latencies in microseconds and failure counts of one kind of request.
#[derive(Default)]
struct Timings {
    micros: Vec<u64>,
    failures: usize,
    first_error: Option<String>,
}

impl Timings {
    fn record(&mut self, started: Instant, result: &Result<(), String>) {
        self.micros
            .push(u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX));
        if let Err(error) = result {
            self.failures += 1;
            self.first_error.get_or_insert_with(|| error.clone());
        }
    }

    fn summary(&mut self, wall: Duration) -> Value {
        self.micros.sort_unstable();
        let percentile = |p: f64| -> f64 {
            if self.micros.is_empty() {
                return 0.0;
            }
            let index = ((self.micros.len() as f64 - 1.0) * p).round() as usize;
            self.micros[index] as f64 / 1000.0
        };
        json!({
            "requests": self.micros.len(),
            "failures": self.failures,
            "first_error": self.first_error,
            "wall_seconds": wall.as_secs_f64(),
            "per_second": self.micros.len() as f64 / wall.as_secs_f64().max(1e-9),
            "latency_ms": { "p50": percentile(0.50), "p90": percentile(0.90), "p99": percentile(0.99), "max": percentile(1.0) },
        })
    }
}

fn request(
    http: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: &str,
) -> Result<Value, String> {
    let response = http
        .request(method, url)
        .set("Authorization", &format!("Bearer {token}"))
        .set("Content-Type", "application/json")
        .send_string(body);
    match response {
        Ok(response) => response
            .into_string()
            .map_err(|error| error.to_string())
            .and_then(|text| {
                serde_json::from_str(&text).map_err(|error| format!("invalid JSON reply: {error}"))
            }),
        Err(ureq::Error::Status(code, response)) => Err(format!(
            "HTTP {code}: {}",
            response.into_string().unwrap_or_default()
        )),
        Err(error) => Err(error.to_string()),
    }
}

/// Runs `work(index)` for each index below `count` on `concurrency` threads,
/// stopping early at `deadline`; returns how many ran.
fn run_parallel(
    count: usize,
    concurrency: usize,
    deadline: Instant,
    work: &(dyn Fn(usize) + Sync),
) -> usize {
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..concurrency {
            scope.spawn(|| loop {
                if Instant::now() >= deadline {
                    return;
                }
                let index = next.fetch_add(1, Ordering::Relaxed);
                if index >= count {
                    return;
                }
                work(index);
                done.fetch_add(1, Ordering::Relaxed);
            });
        }
    });
    done.into_inner()
}

fn main() -> anyhow::Result<()> {
    let settings = parse_args()?;
    let bases: Vec<Value> = settings
        .inventories
        .iter()
        .map(|(path, _)| {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("failed to read {path}"))?;
            serde_json::from_str(&text).with_context(|| format!("{path} is not JSON"))
        })
        .collect::<anyhow::Result<_>>()?;
    let total_weight: u64 = settings
        .inventories
        .iter()
        .map(|(_, weight)| u64::from(*weight))
        .sum();
    let http = ureq::AgentBuilder::new()
        .timeout(Duration::from_secs(120))
        .build();
    let started = Instant::now();
    let deadline = started + settings.time_limit;

    let enrollment = request(
        &http,
        "POST",
        &format!("{}/api/v1/enrollment-tokens", settings.server),
        &settings.admin_token,
        &json!({ "expires_in_hours": 2, "max_uses": settings.agents }).to_string(),
    )
    .map_err(|error| anyhow::anyhow!("failed to create the enrollment token: {error}"))?;
    let enrollment = enrollment["token"]
        .as_str()
        .context("the reply has no token")?
        .to_string();

    // Enroll every agent.
    let agents: Vec<Mutex<Option<Agent>>> =
        (0..settings.agents).map(|_| Mutex::new(None)).collect();
    let enroll_timings = Mutex::new(Timings::default());
    let enroll_started = Instant::now();
    run_parallel(settings.agents, settings.concurrency, deadline, &|index| {
        let mut seeded = Seeded(index as u64);
        let mut pick = seeded.below(total_weight);
        let base = settings
            .inventories
            .iter()
            .position(|(_, weight)| {
                let hit = pick < u64::from(*weight);
                pick = pick.saturating_sub(u64::from(*weight));
                hit
            })
            .unwrap_or(0);
        let mut inventory = bases[base].clone();
        let name = format!("load-{index:05}");
        inventory["host"]["hostname"] = json!(name);
        if let Some(packages) = inventory["packages"].as_array_mut() {
            let leave_out = seeded.below(packages.len() as u64 / 20 + 1);
            for _ in 0..leave_out {
                let at = seeded.below(packages.len() as u64) as usize;
                packages.remove(at);
            }
        }
        let body = json!({ "enrollment_token": enrollment, "name": name }).to_string();
        let call_started = Instant::now();
        let reply = request(
            &http,
            "POST",
            &format!("{}/api/v1/agents/enroll", settings.server),
            "",
            &body,
        );
        let outcome = reply.as_ref().map(|_| ()).map_err(Clone::clone);
        lock(&enroll_timings).record(call_started, &outcome);
        if let Ok(reply) = reply {
            if let Some(token) = reply["agent_token"].as_str() {
                *lock(&agents[index]) = Some(Agent {
                    token: token.to_string(),
                    inventory,
                });
            }
        }
    });
    let enroll_wall = enroll_started.elapsed();

    // Upload: round after round over the agents, so each uploads about uploads/agents times.
    let upload_timings = Mutex::new(Timings::default());
    let packages_sent = AtomicUsize::new(0);
    let upload_started = Instant::now();
    let uploaded = run_parallel(settings.uploads, settings.concurrency, deadline, &|index| {
        let agent_index = index % settings.agents;
        let round = index / settings.agents;
        let mut slot = lock(&agents[agent_index]);
        let Some(agent) = slot.as_mut() else {
            lock(&upload_timings)
                .record(Instant::now(), &Err("the agent did not enroll".to_string()));
            return;
        };
        if round > 0 && round % settings.change_every == 0 {
            if let Some(packages) = agent.inventory["packages"].as_array_mut() {
                if packages.len() > 1 {
                    let at = Seeded((agent_index * 31 + round) as u64).below(packages.len() as u64)
                        as usize;
                    packages.remove(at);
                }
            }
        }
        let body = agent.inventory.to_string();
        packages_sent.fetch_add(
            agent.inventory["packages"].as_array().map_or(0, Vec::len),
            Ordering::Relaxed,
        );
        let token = agent.token.clone();
        drop(slot);
        let call_started = Instant::now();
        let reply = request(
            &http,
            "PUT",
            &format!("{}/api/v1/agents/self/inventory", settings.server),
            &token,
            &body,
        );
        let outcome = match reply {
            Ok(summary) if summary["matched"] == true => Ok(()),
            Ok(summary) => Err(format!("not matched: {summary}")),
            Err(error) => Err(error),
        };
        lock(&upload_timings).record(call_started, &outcome);
    });
    let upload_wall = upload_started.elapsed();

    let report = json!({
        "agents": settings.agents,
        "uploads_requested": settings.uploads,
        "uploads_sent": uploaded,
        "stopped_by_time_limit": uploaded < settings.uploads,
        "concurrency": settings.concurrency,
        "change_every": settings.change_every,
        "packages_per_upload": packages_sent.into_inner() as f64 / uploaded.max(1) as f64,
        "enroll": lock(&enroll_timings).summary(enroll_wall),
        "upload": lock(&upload_timings).summary(upload_wall),
        "total_seconds": started.elapsed().as_secs_f64(),
    });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
