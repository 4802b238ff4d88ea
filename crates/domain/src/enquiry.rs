//! An enquiry from the public contact form.

use crate::{EmailAddress, FieldErrors, PersonName, PhoneNumber, text::parse_text};

/// How the person would like to be contacted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContactPreference {
    /// Reply by email.
    Email,
    /// Ring them.
    Phone,
}

impl ContactPreference {
    /// The stored and submitted form of the value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Phone => "phone",
        }
    }

    /// Parse the stored or submitted form.
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "email" => Some(Self::Email),
            "phone" => Some(Self::Phone),
            _ => None,
        }
    }
}

/// The raw fields of the contact form, exactly as submitted.
#[derive(Debug, Clone, Default)]
pub struct EnquiryForm<'a> {
    /// "Your name".
    pub name: &'a str,
    /// "Email address".
    pub email: &'a str,
    /// "Phone number (optional)".
    pub phone: &'a str,
    /// `email` or `phone`.
    pub contact_preference: &'a str,
    /// "Your message".
    pub message: &'a str,
    /// The consent checkbox was ticked.
    pub consent: bool,
}

/// A parsed, acceptable enquiry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEnquiry {
    /// Who is asking.
    pub name: PersonName,
    /// Where to reply.
    pub email: EmailAddress,
    /// Optional phone number.
    pub phone: Option<PhoneNumber>,
    /// How they prefer to be contacted.
    pub contact_preference: ContactPreference,
    /// What they wrote.
    pub message: String,
}

/// Who someone is and how to reach them: the fields the enquiry and booking forms share.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: PersonName,
    pub email: EmailAddress,
    pub phone: Option<PhoneNumber>,
    pub contact_preference: ContactPreference,
}

impl Contact {
    /// Parse the shared fields, recording a message in `errors` for each bad one.
    /// Choosing "phone" needs a phone number.
    pub fn parse(
        name: &str,
        email: &str,
        phone: &str,
        contact_preference: &str,
        errors: &mut FieldErrors,
    ) -> Option<Self> {
        let name = errors.check("name", PersonName::parse(name));
        let email = errors.check("email", EmailAddress::parse(email));
        let phone = if phone.trim().is_empty() {
            Some(None)
        } else {
            errors.check("phone", PhoneNumber::parse(phone).map(Some))
        };
        let contact_preference = match ContactPreference::parse(contact_preference) {
            Some(ContactPreference::Phone) if matches!(phone, Some(None)) => {
                errors.add(
                    "phone",
                    "Enter a phone number, or choose to be contacted by email",
                );
                None
            }
            Some(preference) => Some(preference),
            None => {
                errors.add(
                    "contact_preference",
                    "Choose how you would like me to contact you",
                );
                None
            }
        };
        Some(Self {
            name: name?,
            email: email?,
            phone: phone?,
            contact_preference: contact_preference?,
        })
    }
}

/// Longest message accepted from the contact form.
pub const MAX_MESSAGE_CHARS: usize = 3000;

impl NewEnquiry {
    /// Parse the form, collecting a message for every bad field.
    pub fn parse(form: &EnquiryForm<'_>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let contact = Contact::parse(
            form.name,
            form.email,
            form.phone,
            form.contact_preference,
            &mut errors,
        );
        let message = if form.message.trim().is_empty() {
            errors.add(
                "message",
                "Enter a short message, for example when you are usually free",
            );
            None
        } else {
            errors.check(
                "message",
                parse_text(form.message, "your message", MAX_MESSAGE_CHARS, true),
            )
        };
        if !form.consent {
            errors.add(
                "consent",
                "Tick the box to agree that I can keep your details to reply to you",
            );
        }
        match (contact, message) {
            (Some(contact), Some(message)) if errors.is_empty() => Ok(Self {
                name: contact.name,
                email: contact.email,
                phone: contact.phone,
                contact_preference: contact.contact_preference,
                message,
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> EnquiryForm<'static> {
        EnquiryForm {
            name: "Sam Jones",
            email: "sam@example.com",
            phone: "",
            contact_preference: "email",
            message: "I'd like to talk about starting therapy.",
            consent: true,
        }
    }

    #[test]
    fn accepts_a_good_enquiry() {
        let enquiry = NewEnquiry::parse(&valid()).unwrap();
        assert_eq!(enquiry.name.as_str(), "Sam Jones");
        assert_eq!(enquiry.phone, None);
        assert_eq!(enquiry.contact_preference, ContactPreference::Email);
    }

    #[test]
    fn reports_every_bad_field() {
        let form = EnquiryForm {
            consent: false,
            ..EnquiryForm::default()
        };
        let errors = NewEnquiry::parse(&form).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|(field, _)| field).collect();
        assert_eq!(
            fields,
            ["name", "email", "contact_preference", "message", "consent"]
        );
    }

    #[test]
    fn phone_preference_needs_a_phone_number() {
        let form = EnquiryForm {
            contact_preference: "phone",
            ..valid()
        };
        let errors = NewEnquiry::parse(&form).unwrap_err();
        assert!(errors.get("phone").unwrap().contains("phone number"));
        let form = EnquiryForm {
            contact_preference: "phone",
            phone: "020 7946 0000",
            ..valid()
        };
        assert!(NewEnquiry::parse(&form).is_ok());
    }

    #[test]
    fn refuses_overlong_messages() {
        let long = "a".repeat(MAX_MESSAGE_CHARS + 1);
        let form = EnquiryForm {
            message: &long,
            ..valid()
        };
        assert!(
            NewEnquiry::parse(&form)
                .unwrap_err()
                .get("message")
                .is_some()
        );
    }
}
