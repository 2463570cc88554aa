//! Is there a default route? Read from the kernel's route tables, the same
//! way whatever told us about a change.

/// `Some(true)` when an IPv4 or IPv6 default route exists, `None` when the
/// tables cannot be read (not Linux): then we assume a network.
pub(crate) fn default_route_present() -> Option<bool> {
    let v4 = std::fs::read_to_string("/proc/net/route").ok();
    let v6 = std::fs::read_to_string("/proc/net/ipv6_route").ok();
    if v4.is_none() && v6.is_none() {
        return None;
    }
    Some(v4.as_deref().is_some_and(ipv4_default) || v6.as_deref().is_some_and(ipv6_default))
}

const RTF_UP: u32 = 0x0001;
const RTF_REJECT: u32 = 0x0200;

/// `/proc/net/route`: Iface Destination Gateway Flags ... Mask ...
pub(crate) fn ipv4_default(table: &str) -> bool {
    table.lines().skip(1).any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let flags = fields
            .get(3)
            .and_then(|f| u32::from_str_radix(f, 16).ok())
            .unwrap_or(0);
        fields.len() >= 8
            && fields[0] != "lo"
            && fields[1] == "00000000"
            && fields[7] == "00000000"
            && flags & RTF_UP != 0
            && flags & RTF_REJECT == 0
    })
}

/// `/proc/net/ipv6_route`: dest plen src plen nexthop metric refcnt use
/// flags iface. The kernel keeps an unreachable default on `lo`; that one
/// does not count.
pub(crate) fn ipv6_default(table: &str) -> bool {
    table.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        let flags = fields
            .get(8)
            .and_then(|f| u32::from_str_radix(f, 16).ok())
            .unwrap_or(0);
        fields.len() >= 10
            && fields[0] == "00000000000000000000000000000000"
            && fields[1] == "00"
            && fields[9] != "lo"
            && flags & RTF_UP != 0
            && flags & RTF_REJECT == 0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str =
        "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n";

    #[test]
    fn ipv4_default_route_is_found_and_others_are_not() {
        let with = format!(
            "{HEADER}eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\neth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n"
        );
        assert!(ipv4_default(&with));
        let without =
            format!("{HEADER}eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n");
        assert!(!ipv4_default(&without));
        assert!(!ipv4_default(HEADER));
        let link_scope =
            format!("{HEADER}v0\t00000000\t00000000\t0001\t0\t0\t0\t00000000\t0\t0\t0\n");
        assert!(
            ipv4_default(&link_scope),
            "a default route without gateway counts"
        );
    }

    #[test]
    fn ipv6_unreachable_default_on_lo_does_not_count() {
        let lo = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 00000000000000000000000000000000 ffffffff 00000001 00000000 00200200       lo\n";
        assert!(!ipv6_default(lo));
        let real = "00000000000000000000000000000000 00 00000000000000000000000000000000 00 fd000000000000000000000000000001 00000400 00000001 00000000 00000003     eth0\n";
        assert!(ipv6_default(real));
    }
}
