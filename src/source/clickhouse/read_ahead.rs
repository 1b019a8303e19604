//! Network reads overlapped with decoding: a task of its own pulls the answer's chunks off the
//! connection into a bounded queue while the caller decodes the ones before, so the socket
//! never waits for the decoder (on one task the two took turns: hyper hands the next chunk
//! over only when the last is taken). Dropping the reader stops its task, so a cancelled
//! fetch still closes the connection and the server's query is killed as before.
//!
//! Main type: [`ReadAhead`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use clickhouse::QuerySummary;
use clickhouse::query::BytesCursor;
use tokio::sync::mpsc;

/// Chunks read ahead at most (a chunk is a network read, tens of kilobytes).
const AHEAD_CHUNKS: usize = 64;

/// The answer's chunks, read ahead on their own task.
#[derive(Debug)]
pub struct ReadAhead {
    chunks: mpsc::Receiver<Result<Bytes, clickhouse::error::Error>>,
    received: Arc<AtomicU64>,
    summary: Arc<std::sync::OnceLock<QuerySummary>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReadAhead {
    /// Start reading `cursor` on the current runtime.
    pub fn start(mut cursor: BytesCursor) -> Self {
        let (sender, chunks) = mpsc::channel(AHEAD_CHUNKS);
        let received = Arc::new(AtomicU64::new(0));
        let summary = Arc::new(std::sync::OnceLock::new());
        let (counter, header) = (Arc::clone(&received), Arc::clone(&summary));
        let task = tokio::spawn(async move {
            loop {
                let next = cursor.next().await;
                counter.store(cursor.received_bytes(), Ordering::Relaxed);
                if let Some(s) = cursor.summary() {
                    let _ = header.set(s.clone());
                }
                let item = match next {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => return,
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                // The reader gone (decode failed, cancelled): stop reading.
                if sender.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Self {
            chunks,
            received,
            summary,
            task,
        }
    }

    /// The next chunk; `None` at the answer's end.
    pub async fn next(&mut self) -> Result<Option<Bytes>, clickhouse::error::Error> {
        self.chunks.recv().await.transpose()
    }

    /// Bytes received from the server so far (read ahead included).
    pub fn received_bytes(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The server's `X-ClickHouse-Summary` header, once the answer's headers are in.
    pub fn summary(&self) -> Option<&QuerySummary> {
        self.summary.get()
    }
}

impl Drop for ReadAhead {
    fn drop(&mut self) {
        self.task.abort();
    }
}
