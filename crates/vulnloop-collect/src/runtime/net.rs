//! Listening sockets from the kernel's socket tables, `/proc/net/{tcp,tcp6,udp,udp6}`.
//!
//! Each table line describes one socket: its local and remote address as
//! hexadecimal `ADDRESS:PORT`, its state, and the inode that
//! `/proc/PID/fd/*` links name as `socket:[INODE]`. A TCP socket listens in
//! state `0A` (`TCP_LISTEN`). A UDP socket receives from anyone when it is
//! bound but not connected: its remote address and port are zero.
//!
//! The tables list the sockets of the reading process's network namespace
//! only, so listeners inside containers with their own namespace are missed.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use vulnloop_inventory::Listener;

/// The socket tables read, with the protocol name each reports.
const TABLES: [(&str, Protocol); 4] = [
    ("/proc/net/tcp", Protocol::Tcp),
    ("/proc/net/tcp6", Protocol::Tcp),
    ("/proc/net/udp", Protocol::Udp),
    ("/proc/net/udp6", Protocol::Udp),
];

/// `TCP_LISTEN` in the kernel's `include/net/tcp_states.h`.
const TCP_LISTEN: &str = "0A";

/// Transport protocol of a socket table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Protocol {
    Tcp,
    Udp,
}

impl Protocol {
    fn name(self) -> &'static str {
        match self {
            Protocol::Tcp => "tcp",
            Protocol::Udp => "udp",
        }
    }
}

/// Reads the listening sockets of all tables, keyed by socket inode.
///
/// The kernel walks its whole connection hash table for each read of a TCP
/// table, which takes milliseconds even when few sockets exist, so the
/// tables are read in parallel. A missing table (IPv6 disabled, no procfs)
/// contributes nothing.
pub(crate) fn read_listening_sockets() -> HashMap<u64, Vec<Listener>> {
    let tables: Vec<Vec<(u64, Listener)>> = std::thread::scope(|scope| {
        let readers: Vec<_> = TABLES
            .into_iter()
            .map(|(path, protocol)| scope.spawn(move || read_table(path, protocol)))
            .collect();
        readers
            .into_iter()
            .map(|reader| reader.join().unwrap_or_default())
            .collect()
    });

    let mut sockets: HashMap<u64, Vec<Listener>> = HashMap::new();
    for (inode, listener) in tables.into_iter().flatten() {
        sockets.entry(inode).or_default().push(listener);
    }
    sockets
}

/// Reads the listening sockets of one table.
fn read_table(path: &str, protocol: Protocol) -> Vec<(u64, Listener)> {
    match std::fs::read_to_string(path) {
        Ok(text) => text
            .lines()
            .filter_map(|line| parse_socket_line(line, protocol))
            .collect(),
        Err(error) => {
            tracing::debug!(path, %error, "socket table not readable, so its listeners are not listed");
            Vec::new()
        }
    }
}

/// Parses one line of a socket table into its inode and listener.
///
/// Returns `None` for the header line, malformed lines and sockets that do
/// not listen.
pub(crate) fn parse_socket_line(line: &str, protocol: Protocol) -> Option<(u64, Listener)> {
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [_slot, local, remote, state, _queues, _timer, _retransmits, _uid, _timeout, inode, ..] =
        fields.as_slice()
    else {
        return None;
    };
    let (address, port) = parse_endpoint(local)?;
    let listening = match protocol {
        Protocol::Tcp => *state == TCP_LISTEN,
        Protocol::Udp => parse_endpoint(remote).is_some_and(|(remote_address, remote_port)| {
            remote_address.is_unspecified() && remote_port == 0
        }),
    };
    let inode: u64 = inode.parse().ok()?;
    if !listening || port == 0 || inode == 0 {
        return None;
    }

    let listener = Listener {
        protocol: protocol.name().to_string(),
        address: address.to_string(),
        port,
    };
    Some((inode, listener))
}

/// Decodes `0100007F:1F90` into an address and port.
///
/// An IPv4-mapped IPv6 address (`::ffff:127.0.0.1`, a dual-stack socket
/// bound to an IPv4 address) is returned as the IPv4 address, so that
/// loopback checks treat it as the IPv4 address it is.
fn parse_endpoint(field: &str) -> Option<(IpAddr, u16)> {
    let (address, port) = field.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let address = match address.len() {
        8 => IpAddr::V4(Ipv4Addr::from(decode_word(address)?)),
        32 => {
            let mut octets = [0u8; 16];
            for (index, chunk) in octets.chunks_exact_mut(4).enumerate() {
                let word = address.get(index * 8..index * 8 + 8)?;
                chunk.copy_from_slice(&decode_word(word)?);
            }
            let v6 = Ipv6Addr::from(octets);
            match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => IpAddr::V6(v6),
            }
        }
        _ => return None,
    };
    Some((address, port))
}

/// Decodes 8 hex digits into the 4 address bytes they stand for.
///
/// The kernel prints each 32-bit word of a network-order address as a
/// native integer (`%08X`), so on a little-endian machine `0100007F` is
/// 127.0.0.1. Native order undoes that on any machine.
fn decode_word(hex: &str) -> Option<[u8; 4]> {
    if hex.len() != 8 {
        return None;
    }
    u32::from_str_radix(hex, 16).ok().map(u32::to_ne_bytes)
}

#[cfg(all(test, target_endian = "little"))]
mod tests {
    use super::*;

    fn listener(protocol: &str, address: &str, port: u16) -> Listener {
        Listener {
            protocol: protocol.to_string(),
            address: address.to_string(),
            port,
        }
    }

    #[test]
    fn tcp_ipv4_listener() {
        let line = "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 23456 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket_line(line, Protocol::Tcp),
            Some((23456, listener("tcp", "127.0.0.1", 8080)))
        );
    }

    #[test]
    fn tcp_ipv4_any_address() {
        let line = "   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18123 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket_line(line, Protocol::Tcp),
            Some((18123, listener("tcp", "0.0.0.0", 22)))
        );
    }

    #[test]
    fn tcp_established_is_not_listener() {
        let line = "   2: 0F02000A:0016 0202000A:C35A 01 00000000:00000000 02:0009A4F1 00000000     0        0 31337 4 0000000000000000 20 4 31 10 -1";
        assert_eq!(parse_socket_line(line, Protocol::Tcp), None);
    }

    #[test]
    fn tcp_header_line_skipped() {
        let line = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode";
        assert_eq!(parse_socket_line(line, Protocol::Tcp), None);
    }

    #[test]
    fn tcp6_any_and_loopback() {
        let any = "   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 18125 1 0000000000000000 100 0 0 10 0";
        let loopback = "   1: 00000000000000000000000001000000:0277 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 20001 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket_line(any, Protocol::Tcp),
            Some((18125, listener("tcp", "::", 22)))
        );
        assert_eq!(
            parse_socket_line(loopback, Protocol::Tcp),
            Some((20001, listener("tcp", "::1", 631)))
        );
    }

    #[test]
    fn tcp6_global_address() {
        // 2001:db8::1 as the kernel prints it on x86-64.
        let line = "   3: B80D0120000000000000000001000000:01BB 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000    33        0 40404 1 0000000000000000 100 0 0 10 0";
        assert_eq!(
            parse_socket_line(line, Protocol::Tcp),
            Some((40404, listener("tcp", "2001:db8::1", 443)))
        );
    }

    #[test]
    fn tcp6_ipv4_mapped_reads_as_ipv4() {
        let line = "   4: 0000000000000000FFFF00000100007F:1F90 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 50505 1 0000000000000000 100 0 0 10 0";
        let (_, parsed) =
            parse_socket_line(line, Protocol::Tcp).unwrap_or_else(|| panic!("not parsed: {line}"));
        assert_eq!(parsed, listener("tcp", "127.0.0.1", 8080));
        assert!(parsed.is_loopback());
    }

    #[test]
    fn udp_bound_unconnected() {
        let line = " 1092: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   102        0 15432 2 0000000000000000 0";
        assert_eq!(
            parse_socket_line(line, Protocol::Udp),
            Some((15432, listener("udp", "127.0.0.53", 53)))
        );
    }

    #[test]
    fn udp_connected_is_not_listener() {
        let line = "  413: 0F02000A:E3D1 0202000A:0035 01 00000000:00000000 00:00000000 00000000     0        0 61234 2 0000000000000000 0";
        assert_eq!(parse_socket_line(line, Protocol::Udp), None);
    }

    #[test]
    fn udp6_any_address() {
        let line = "  362: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000   107        0 17777 2 0000000000000000 0";
        assert_eq!(
            parse_socket_line(line, Protocol::Udp),
            Some((17777, listener("udp", "::", 5353)))
        );
    }

    #[test]
    fn malformed_lines_skipped() {
        for line in [
            "",
            "   0: 0100007F 00000000:0000 0A 0 0 0 0 0 1",
            "   0: 0100007G:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
            "   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 x 1",
            "   0: 01007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000 0 0 1 1",
        ] {
            assert_eq!(parse_socket_line(line, Protocol::Tcp), None, "{line:?}");
        }
    }
}
