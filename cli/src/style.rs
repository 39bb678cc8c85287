//! Colour for people: on when standard output is a terminal and `NO_COLOR`
//! is not set (https://no-color.org), plain otherwise.

use std::io::IsTerminal;

/// ANSI styling, or none.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    on: bool,
}

impl Style {
    /// Colour when writing to a terminal and NO_COLOR is unset or empty.
    pub fn for_stdout() -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        Style {
            on: !no_color && std::io::stdout().is_terminal(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_string()
        }
    }

    /// Red (failures, errors).
    pub fn red(&self, text: &str) -> String {
        self.paint("31", text)
    }
    /// Green (matches, passes).
    pub fn green(&self, text: &str) -> String {
        self.paint("32", text)
    }
    /// Yellow (warnings).
    pub fn yellow(&self, text: &str) -> String {
        self.paint("33", text)
    }
    /// Dim (skipped, notes).
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    /// Bold (headings, the outcome).
    pub fn bold(&self, text: &str) -> String {
        self.paint("1", text)
    }
}

/// The core's explanation text, in colour: green matches, red failures,
/// dim background, the outcome in bold.
impl meshroute::explain::Style for Style {
    fn paint(&self, tone: meshroute::explain::Tone, text: &str) -> String {
        use meshroute::explain::Tone;
        match tone {
            Tone::Matched => self.green(text),
            Tone::Failed => self.red(text),
            Tone::Dim => self.dim(text),
            Tone::Strong => self.bold(text),
        }
    }
}
