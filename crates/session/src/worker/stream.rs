//! One live stream's state: the requests it has out and what each is for,
//! its XEP-0198 counters, the catch-up, searches and batch under way on
//! it, and the messages written and not yet acknowledged.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use xmpp_parsers::jid::FullJid;

use crate::config::ServerOverride;
use crate::connect::Xml;
use crate::events::{Batch, OutgoingMessage, Reply};

use super::{doubt, ingest, tip};

/// What a request we sent is for, so its answer reaches the right place.
#[derive(Debug)]
pub(super) enum IqPurpose {
    RosterGet,
    /// A roster set or remove the host waits on.
    RosterSet(Reply),
    CarbonsEnable,
    Ping,
    /// A page of archive catch-up; `after` is where it started.
    ArchivePage {
        after: Option<String>,
    },
    /// A page of the archive search for messages in doubt to `peer`.
    DoubtPage {
        peer: xmpp_parsers::jid::BareJid,
        start_ms: i64,
    },
    /// A chat's "read up to" published to our synchronization node, with
    /// what it published, to try once more with fewer options.
    ReadPublish {
        read: crate::events::MarkDisplayed,
        options: crate::markers::NodeOptions,
    },
    /// Our synchronization node's items, after a catch-up that fetched
    /// this many messages: it is reported done once they are.
    ReadFetch {
        fetched: u32,
    },
    /// The archive's newest entry (`tip.rs`).
    ArchiveTip,
}

impl IqPurpose {
    /// For logs.
    pub(super) fn name(&self) -> &'static str {
        match self {
            Self::RosterGet => "roster fetch",
            Self::RosterSet(_) => "roster change",
            Self::CarbonsEnable => "carbons",
            Self::Ping => "ping",
            Self::ArchivePage { .. } => "archive page",
            Self::DoubtPage { .. } => "archive search",
            Self::ReadPublish { .. } => "read state publish",
            Self::ReadFetch { .. } => "read state fetch",
            Self::ArchiveTip => "archive's newest entry",
        }
    }
}

/// An archive catch-up under way (see `catch_up.rs`).
#[derive(Debug)]
pub(super) struct CatchUp {
    pub(super) queryid: String,
    pub(super) fetched: u32,
    /// The current page's results, reported together at its end.
    pub(super) page: Vec<crate::events::ReceivedMessage>,
    /// Messages that arrived live meanwhile and that no page returned yet.
    pub(super) live: Vec<crate::events::ReceivedMessage>,
    /// `Worker::rewinds` when it started: a rewind since then means its
    /// pages must not move the position.
    pub(super) rewinds: u32,
    /// The batch `page` will be reported as, holding back the count we
    /// acknowledge from its first result on (`ingest.rs`).
    pub(super) batch: Option<Batch>,
}

/// XEP-0198 counters of one stream.
#[derive(Debug, Default)]
pub(super) struct StreamCounters {
    /// Stanzas received since enable (what we acknowledge).
    pub(super) handled: u32,
    /// Stanzas sent since enable (what the server acknowledges).
    pub(super) sent: u32,
    /// Batches the host has not confirmed stored, oldest first, each with
    /// the count of stanzas handled before its first message: what we
    /// acknowledge stops there (`ingest.rs`).
    pub(super) holds: VecDeque<(Batch, u32)>,
    /// The `h` of our last `<a/>`.
    pub(super) reported: u32,
    /// The server asked (`<r/>`) and our answer did not cover everything
    /// handled then: a confirmation that moves `h` is told at once.
    pub(super) owed: bool,
}

/// One live, bound stream.
pub(super) struct Live {
    pub(super) stream: Xml,
    pub(super) jid: FullJid,
    /// `None` when the server has no stream management.
    pub(super) sm: Option<StreamCounters>,
    /// How to resume this stream if it breaks.
    pub(super) resume: Option<(String, Option<ServerOverride>)>,
    pub(super) csi: bool,
    /// Requests we sent, with the time by which they must be answered.
    pub(super) pending_iqs: HashMap<String, (IqPurpose, tokio::time::Instant)>,
    pub(super) iq_timeout: Duration,
    pub(super) next_iq: u64,
    /// A probe is out: the stream is dead if it is not answered by then.
    /// Only an answer ends it: anything else may have been on its way
    /// before the server stopped (its own presence echoed at login, a
    /// roster push), and would hide a server that froze right after.
    pub(super) probe_deadline: Option<tokio::time::Instant>,
    pub(super) catch_up: Option<CatchUp>,
    /// The archive search for messages in doubt; the queue waits for it.
    pub(super) doubts: Option<doubt::Doubts>,
    /// The query for the archive's newest entry.
    pub(super) tip: Option<tip::Tip>,
    /// Live messages read together, reported as one batch.
    pub(super) gathered: ingest::Gathered,
}

/// A message written to a managed stream and not yet acknowledged.
#[derive(Debug)]
pub(super) struct Unacked {
    /// Its stanza number on the stream (XEP-0198 counts from 0).
    pub(super) seq: u32,
    /// When it was written, by our clock (ms since the epoch).
    pub(super) written_ms: i64,
    /// The server bounced it: an ack later must not make it look
    /// delivered.
    pub(super) bounced: bool,
    pub(super) message: OutgoingMessage,
}

impl Live {
    pub(super) fn new(
        stream: Xml,
        jid: FullJid,
        sm: Option<StreamCounters>,
        resume: Option<(String, Option<ServerOverride>)>,
        csi: bool,
        iq_timeout: Duration,
    ) -> Self {
        Self {
            stream,
            jid,
            sm,
            resume,
            csi,
            pending_iqs: HashMap::new(),
            iq_timeout,
            next_iq: 0,
            probe_deadline: None,
            catch_up: None,
            doubts: None,
            tip: None,
            gathered: ingest::Gathered::default(),
        }
    }

    pub(super) fn iq_id(&mut self, purpose: IqPurpose) -> String {
        self.next_iq += 1;
        let id = format!("w{}", self.next_iq);
        let deadline = tokio::time::Instant::now() + self.iq_timeout;
        self.pending_iqs.insert(id.clone(), (purpose, deadline));
        id
    }
}
