//! `vulnloop server`: the fleet server.

use crate::cli::ServerArgs;
use crate::exit::Code;

pub fn run(args: ServerArgs) -> anyhow::Result<Code> {
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(vulnloop_server::TlsFiles { cert, key }),
        _ => None,
    };
    let config = vulnloop_server::Config {
        bind: args.bind,
        data_dir: args.data_dir,
        database: args.database,
        advisory_db: args.advisory_db,
        tls,
        insecure_http: args.insecure_http,
        job_interval: args.job_interval.map(std::time::Duration::from_secs),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(vulnloop_server::run(config))?;
    Ok(Code::Clean)
}
