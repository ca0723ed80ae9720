//! PostgreSQL clusters of the tests' own, run with the installed server binaries: the
//! fallback when no `TEST_DATABASE_URL` is given, and a cluster a test may stop and start.

use std::{
    path::PathBuf,
    process::{Command, Stdio},
};

/// A cluster in a directory of its own, on a loopback port, with trust authentication.
pub struct PgCluster {
    bin: PathBuf,
    pub data: PathBuf,
    pub port: u16,
    /// Running as root: the server must run as the `postgres` user.
    as_root: bool,
}

impl PgCluster {
    /// The cluster in `data`, created with `initdb` when the directory holds none yet; `None`
    /// without the server binaries or when `initdb` fails.
    pub fn init(data: PathBuf, port: u16) -> Option<PgCluster> {
        let bin = ["15", "16", "17"]
            .iter()
            .map(|v| PathBuf::from(format!("/usr/lib/postgresql/{v}/bin")))
            .find(|p| p.join("initdb").exists())?;
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0"));
        let cluster = PgCluster {
            bin,
            data,
            port,
            as_root,
        };
        if cluster.data.join("PG_VERSION").exists() {
            return Some(cluster);
        }
        std::fs::create_dir_all(&cluster.data).ok()?;
        let data = cluster.data.to_str()?;
        if as_root {
            Command::new("chown")
                .args(["-R", "postgres:postgres", data])
                .status()
                .ok()?;
        }
        let initdb = cluster.bin.join("initdb");
        let created = cluster.run(&[
            initdb.to_str()?,
            "-D",
            data,
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
            "-E",
            "UTF8",
            // Case-insensitive search lowercases "É" only in a UTF-8 locale, as real
            // installations run.
            "--locale=C.UTF-8",
        ]);
        created.then_some(cluster)
    }

    /// A free loopback port for a new cluster.
    pub fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    /// Runs a server binary, as `postgres` when the tests run as root.
    fn run(&self, args: &[&str]) -> bool {
        let mut cmd = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).args(args);
            c
        } else {
            let mut c = Command::new(args[0]);
            c.args(&args[1..]);
            c
        };
        cmd.stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    }

    /// `pg_ctl start` (with `settings`, extra `-c name=value` options), `stop` (fast) or
    /// `status`; whether it succeeded.
    pub fn pg_ctl(&self, action: &str, settings: &str) -> bool {
        let pg_ctl = self.bin.join("pg_ctl");
        let data = self.data.to_str().unwrap();
        let opts = format!(
            "-p {} -k {data} -c listen_addresses=127.0.0.1 -c fsync=off {settings}",
            self.port
        );
        let log = self.data.join("log");
        let mut args = vec![pg_ctl.to_str().unwrap(), "-D", data];
        match action {
            "start" => args.extend(["-w", "-o", &opts, "-l", log.to_str().unwrap()]),
            "stop" => args.extend(["-w", "-m", "fast"]),
            _ => {}
        }
        args.push(action);
        self.run(&args)
    }

    /// The superuser's URL.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}
