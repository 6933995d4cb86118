//! Progress on long work, the one place the command draws it: on standard error, and only
//! when standard error is a terminal, so pipes, files and `--json` readers never see it.
//! Work that can count shows a bar with the count, the rate and the time left; a step that
//! cannot count shows a spinner with the time spent, so every part of the wait is covered.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A bar or a spinner; nothing at all when standard error is not a terminal. Dropping it
/// clears it, so an error printed after it stands alone on its line.
pub struct Progress(Option<ProgressBar>);

fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// A bar's look: `[=====>    ] 4,000/9,000 subscriptions  2,210/s, 2s left`.
fn bar_template(unit: &str) -> String {
    format!("{{msg}} [{{bar:30}}] {{human_pos}}/{{human_len}} {unit}  {{per_sec}}, {{eta}} left")
}

fn styled(bar: ProgressBar, template: &str) -> ProgressBar {
    // The templates are constants; a refused one falls back to the default style.
    if let Ok(style) = ProgressStyle::with_template(template) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

impl Progress {
    /// A bar over `len` things called `unit`: `billing [=====>    ] 4,000/9,000 subscriptions
    /// 2,210/s, 2s left`.
    pub fn bar(len: u64, what: &str, unit: &str) -> Progress {
        if !on_terminal() {
            return Progress(None);
        }
        let bar = styled(
            ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr()),
            &bar_template(unit),
        );
        bar.set_message(what.to_owned());
        bar.tick();
        Progress(Some(bar))
    }

    /// A bar over `len` bytes, or a running count of them when the length is unknown
    /// (standard input).
    pub fn bytes(len: Option<u64>, what: &str) -> Progress {
        if !on_terminal() {
            return Progress(None);
        }
        let template = match len {
            Some(_) => {
                "{msg} [{bar:30}] {bytes}/{total_bytes}  {bytes_per_sec}, {eta} left".to_owned()
            }
            None => "{spinner} {msg} {bytes}  {bytes_per_sec}".to_owned(),
        };
        let bar = styled(
            ProgressBar::with_draw_target(len, ProgressDrawTarget::stderr()),
            &template,
        );
        bar.set_message(what.to_owned());
        bar.tick();
        Progress(Some(bar))
    }

    /// A spinner for a step that cannot count: `⠋ recording the run  3s`.
    pub fn step(what: &str) -> Progress {
        if !on_terminal() {
            return Progress(None);
        }
        let bar = styled(
            ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()),
            "{spinner} {msg}  {elapsed}",
        );
        bar.set_message(what.to_owned());
        bar.enable_steady_tick(Duration::from_millis(120));
        Progress(Some(bar))
    }

    /// Counts `n` more done (records, bytes, subscriptions: every caller counts in `usize`);
    /// callable from any thread.
    pub fn inc(&self, n: usize) {
        if let Some(bar) = &self.0 {
            bar.inc(u64::try_from(n).unwrap_or(u64::MAX));
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.0 {
            bar.finish_and_clear();
        }
    }
}

/// Runs `work` with a spinner saying `what` on a terminal.
pub fn step<T>(what: &str, work: impl FnOnce() -> T) -> T {
    let _spinner = Progress::step(what);
    work()
}
