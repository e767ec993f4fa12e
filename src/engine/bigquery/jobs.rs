//! Running one statement as a BigQuery job: inserted with the run's labels
//! (`cohort_model`, `cohort_run_id`), polled with backoff until done or
//! until the job timeout (then cancelled), transient failures (HTTP 5xx and
//! 429, `backendError`, `rateLimitExceeded`, `internalError`, a dropped
//! connection) retried a bounded number of times, and the job's own errors
//! checked even when every HTTP call succeeded. Jobs in flight are
//! remembered so that an interrupted run can cancel them.

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gcp_bigquery_client::Client;
use gcp_bigquery_client::error::BQError;
use gcp_bigquery_client::model::error_proto::ErrorProto;
use gcp_bigquery_client::model::job::Job;
use gcp_bigquery_client::model::job_configuration::JobConfiguration;
use gcp_bigquery_client::model::job_configuration_query::JobConfigurationQuery;
use gcp_bigquery_client::model::job_reference::JobReference;

/// How jobs are run: labels, limits, retries.
#[derive(Debug, Clone)]
pub struct JobSettings {
    pub project: String,
    pub location: Option<String>,
    /// `INTERACTIVE` or `BATCH`.
    pub priority: Option<String>,
    pub maximum_bytes_billed: Option<u64>,
    /// A job still running after this is cancelled.
    pub timeout: Duration,
    /// Labels of every job (the profile's, plus `cohort_run_id`).
    pub labels: HashMap<String, String>,
    /// Attempts for a transient failure before giving up.
    pub attempts: u32,
    /// First pause between polls or retries; doubled each time up to [`MAX_BACKOFF`].
    pub first_backoff: Duration,
    /// Removes the credentials' secrets from error messages.
    pub redactor: super::connect::Redactor,
}

/// The longest pause between two polls or retries.
pub const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Why a job did not complete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobFailure {
    /// BigQuery's reason (`invalidQuery`, `notFound`, ...), or `http` / `timeout`.
    pub reason: String,
    pub message: String,
    /// Whether it was worth retrying (still failing after the last attempt).
    pub transient: bool,
    /// Whether the job was cancelled (timeout or interrupt).
    pub cancelled: bool,
}

impl std::fmt::Display for JobFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.reason, self.message)
    }
}

/// A finished query job.
#[derive(Debug, Clone)]
pub struct Finished {
    pub job_id: String,
    pub location: Option<String>,
    pub job: Job,
}

impl Finished {
    /// Bytes the job processed (dry run: would process).
    pub fn bytes_processed(&self) -> u64 {
        self.job
            .statistics
            .as_ref()
            .and_then(|s| {
                s.query
                    .as_ref()
                    .and_then(|q| q.total_bytes_processed.clone())
                    .or_else(|| s.total_bytes_processed.clone())
            })
            .and_then(|b| b.parse().ok())
            .unwrap_or(0)
    }

    /// Rows changed by a DML statement.
    pub fn dml_rows(&self) -> Option<u64> {
        self.job
            .statistics
            .as_ref()
            .and_then(|s| s.query.as_ref())
            .and_then(|q| q.num_dml_affected_rows.as_ref())
            .and_then(|n| n.parse().ok())
    }
}

/// Runs jobs for one cohort run.
pub struct Jobs {
    client: Client,
    settings: JobSettings,
    run_id: String,
    counter: AtomicU64,
    running: Mutex<BTreeSet<(String, Option<String>)>>,
}

impl Jobs {
    pub fn new(client: Client, settings: JobSettings, run_id: String) -> Jobs {
        Jobs {
            client,
            settings,
            run_id,
            counter: AtomicU64::new(0),
            running: Mutex::new(BTreeSet::new()),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn settings(&self) -> &JobSettings {
        &self.settings
    }

    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Run `sql` (labelled with `model`, when it builds one) until done.
    pub async fn run(&self, sql: &str, model: Option<&str>) -> Result<Finished, JobFailure> {
        self.submit(sql, model, false, self.settings.maximum_bytes_billed)
            .await
    }

    /// Like [`Jobs::run`], with BigQuery refusing to bill more than `budget` bytes.
    pub async fn run_within(
        &self,
        sql: &str,
        model: Option<&str>,
        budget: Option<u64>,
    ) -> Result<Finished, JobFailure> {
        self.submit(sql, model, false, budget).await
    }

    /// Dry-run `sql`: validated and costed, nothing runs.
    pub async fn dry_run(&self, sql: &str, model: Option<&str>) -> Result<Finished, JobFailure> {
        self.submit(sql, model, true, None).await
    }

    async fn submit(
        &self,
        sql: &str,
        model: Option<&str>,
        dry_run: bool,
        budget: Option<u64>,
    ) -> Result<Finished, JobFailure> {
        let mut attempt = 1;
        let mut backoff = self.settings.first_backoff;
        loop {
            let outcome = self
                .attempt(sql, model, dry_run, budget)
                .await
                .map_err(|mut failure| {
                    failure.message = self.settings.redactor.apply(&failure.message);
                    failure
                });
            match outcome {
                Err(failure) if failure.transient && attempt < self.settings.attempts => {
                    attempt += 1;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                }
                other => return other,
            }
        }
    }

    /// One job: insert, then poll until done.
    async fn attempt(
        &self,
        sql: &str,
        model: Option<&str>,
        dry_run: bool,
        budget: Option<u64>,
    ) -> Result<Finished, JobFailure> {
        let job_id = format!(
            "cohort_{}_{}",
            self.run_id,
            self.counter.fetch_add(1, Ordering::Relaxed)
        );
        let job = self.job(&job_id, sql, model, dry_run, budget);
        // Remembered before it is inserted: an interrupt during the insert
        // call still cancels the job BigQuery may have started.
        let key = (job_id.clone(), self.settings.location.clone());
        if !dry_run {
            self.remember(&key, true);
        }
        let inserted = self
            .client
            .job()
            .insert(&self.settings.project, job)
            .await
            .map_err(http_failure);
        let inserted = match inserted {
            Ok(job) => job,
            Err(failure) => {
                self.remember(&key, false);
                return Err(failure);
            }
        };
        let location = inserted
            .job_reference
            .as_ref()
            .and_then(|r| r.location.clone())
            .or_else(|| self.settings.location.clone());
        if dry_run {
            check_status(&inserted)?;
            return Ok(Finished {
                job_id,
                location,
                job: inserted,
            });
        }
        let polled = self.poll(&job_id, location.as_deref(), inserted).await;
        self.remember(&key, false);
        let job = polled?;
        check_status(&job)?;
        Ok(Finished {
            job_id,
            location,
            job,
        })
    }

    fn job(
        &self,
        job_id: &str,
        sql: &str,
        model: Option<&str>,
        dry_run: bool,
        budget: Option<u64>,
    ) -> Job {
        let mut labels = self.settings.labels.clone();
        labels.insert("cohort_run_id".into(), label_value(&self.run_id));
        if let Some(model) = model {
            labels.insert("cohort_model".into(), label_value(model));
        }
        let query = JobConfigurationQuery {
            query: sql.to_string(),
            use_legacy_sql: Some(false),
            priority: self.settings.priority.clone(),
            maximum_bytes_billed: budget.map(|b| b.to_string()),
            ..Default::default()
        };
        Job {
            job_reference: Some(JobReference {
                job_id: Some(job_id.to_string()),
                location: self.settings.location.clone(),
                project_id: Some(self.settings.project.clone()),
            }),
            configuration: Some(JobConfiguration {
                dry_run: Some(dry_run),
                labels: Some(labels),
                job_timeout_ms: Some(self.settings.timeout.as_millis().to_string()),
                query: Some(query),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    /// Poll `job_id` with backoff until it is done; cancel it past the timeout.
    async fn poll(
        &self,
        job_id: &str,
        location: Option<&str>,
        mut job: Job,
    ) -> Result<Job, JobFailure> {
        let started = Instant::now();
        let mut backoff = self.settings.first_backoff;
        let mut errors = 0;
        while !is_done(&job) {
            if started.elapsed() > self.settings.timeout {
                self.cancel(job_id, location).await;
                return Err(JobFailure {
                    reason: "timeout".into(),
                    message: format!(
                        "job {job_id} ran longer than job_timeout ({}s) and was cancelled",
                        self.settings.timeout.as_secs()
                    ),
                    transient: false,
                    cancelled: true,
                });
            }
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
            match self
                .client
                .job()
                .get_job(&self.settings.project, job_id, location)
                .await
            {
                Ok(next) => job = next,
                Err(e) => {
                    // A transient error while polling: the job itself still runs.
                    let failure = http_failure(e);
                    errors += 1;
                    if !failure.transient || errors >= self.settings.attempts {
                        return Err(failure);
                    }
                }
            }
        }
        Ok(job)
    }

    fn remember(&self, key: &(String, Option<String>), running: bool) {
        if let Ok(mut set) = self.running.lock() {
            if running {
                set.insert(key.clone());
            } else {
                set.remove(key);
            }
        }
    }

    /// Ask BigQuery to cancel one job (best effort).
    async fn cancel(&self, job_id: &str, location: Option<&str>) {
        let _ = self
            .client
            .job()
            .cancel_job(&self.settings.project, job_id, location)
            .await;
    }

    /// Cancel every job still running (an interrupted run); returns their ids.
    pub async fn cancel_running(&self) -> Vec<String> {
        let jobs: Vec<(String, Option<String>)> = match self.running.lock() {
            Ok(mut set) => std::mem::take(&mut *set).into_iter().collect(),
            Err(_) => Vec::new(),
        };
        for (id, location) in &jobs {
            self.cancel(id, location.as_deref()).await;
        }
        jobs.into_iter().map(|(id, _)| id).collect()
    }
}

fn is_done(job: &Job) -> bool {
    job.status
        .as_ref()
        .and_then(|s| s.state.as_deref())
        .is_some_and(|s| s.eq_ignore_ascii_case("done"))
}

/// A done job's errors, even though every HTTP call succeeded.
fn check_status(job: &Job) -> Result<(), JobFailure> {
    let Some(status) = &job.status else {
        return Ok(());
    };
    let error = status
        .error_result
        .as_ref()
        .or_else(|| status.errors.as_ref().and_then(|e| e.first()));
    match error {
        Some(e) => Err(proto_failure(e)),
        None => Ok(()),
    }
}

fn proto_failure(e: &ErrorProto) -> JobFailure {
    let reason = e.reason.clone().unwrap_or_else(|| "error".into());
    JobFailure {
        transient: is_transient_reason(&reason),
        cancelled: reason == "stopped",
        message: e.message.clone().unwrap_or_default(),
        reason,
    }
}

/// BigQuery's reasons worth a retry.
pub fn is_transient_reason(reason: &str) -> bool {
    matches!(
        reason,
        "backendError" | "rateLimitExceeded" | "internalError" | "jobBackendError"
    )
}

/// A failed HTTP call: BigQuery's own error when it answered, else the transport's.
fn http_failure(error: BQError) -> JobFailure {
    match error {
        BQError::ResponseError { error } => {
            let first = error.error.errors.first();
            let reason = first
                .and_then(|e| e.get("reason").cloned())
                .unwrap_or_else(|| format!("http {}", error.error.code));
            let code = error.error.code;
            JobFailure {
                transient: code >= 500 || code == 429 || is_transient_reason(&reason),
                cancelled: false,
                message: error.error.message,
                reason,
            }
        }
        BQError::RequestError(e) => JobFailure {
            // A connection refused or reset, a timeout, or a 5xx body that is not JSON.
            transient: e.is_connect()
                || e.is_timeout()
                || e.is_decode()
                || e.status().is_some_and(|s| s.is_server_error()),
            cancelled: false,
            reason: "http".into(),
            message: e.to_string(),
        },
        other => JobFailure {
            transient: false,
            cancelled: false,
            reason: "client".into(),
            message: other.to_string(),
        },
    }
}

/// A label value: lower case letters, digits, `_` and `-`, at most 63 characters.
pub fn label_value(text: &str) -> String {
    text.chars()
        .map(|c| {
            let c = c.to_ascii_lowercase();
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .take(63)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_valid_bigquery_label_values() {
        assert_eq!(label_value("Customer.Features"), "customer_features");
        assert_eq!(label_value(&"x".repeat(80)).len(), 63);
    }

    #[test]
    fn retryable_reasons() {
        assert!(is_transient_reason("backendError"));
        assert!(is_transient_reason("rateLimitExceeded"));
        assert!(!is_transient_reason("invalidQuery"));
    }

    #[test]
    fn a_done_job_with_an_error_result_failed() {
        let job: Job = serde_json::from_value(serde_json::json!({
            "status": {"state": "DONE", "errorResult": {"reason": "invalidQuery", "message": "bad"}}
        }))
        .unwrap();
        assert!(is_done(&job));
        let failure = check_status(&job).unwrap_err();
        assert_eq!(failure.reason, "invalidQuery");
        assert!(!failure.transient);
    }
}
