//! Field-level error messages collected while parsing a form.

use std::collections::BTreeMap;

/// Messages keyed by form field name, in the order fields appear on the form.
///
/// A form handler parses every field, collects every problem, and only if there are none
/// builds the parsed value. The web layer turns this into an error summary plus a message
/// at each field (HTML) or `{"errors": {...}}` (JSON).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors {
    order: Vec<&'static str>,
    messages: BTreeMap<&'static str, String>,
}

impl FieldErrors {
    /// No errors yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Record a message for a field (the first message for a field wins).
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        if !self.messages.contains_key(field) {
            self.order.push(field);
            self.messages.insert(field, message.into());
        }
    }

    /// Keep the value if parsing succeeded, otherwise record the message and return `None`.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        field: &'static str,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                self.add(field, error.to_string());
                None
            }
        }
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// The message for one field, if any.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.messages.get(field).map(String::as_str)
    }

    /// `(field, message)` pairs in the order they were recorded.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.order
            .iter()
            .map(|field| (*field, self.messages[field].as_str()))
    }

    /// `Ok(value)` when there are no errors, otherwise the errors.
    pub fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, FieldErrors> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_first_message_and_order() {
        let mut errors = FieldErrors::new();
        errors.add("email", "Enter an email address");
        errors.add("name", "Enter your name");
        errors.add("email", "second message is ignored");
        let pairs: Vec<_> = errors.iter().collect();
        assert_eq!(
            pairs,
            vec![
                ("email", "Enter an email address"),
                ("name", "Enter your name")
            ]
        );
        assert!(errors.into_result(|| ()).is_err());
    }
}
