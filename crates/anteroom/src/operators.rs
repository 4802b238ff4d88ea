//! `anteroom operator …`: the accounts of hosted mode's operator console. Every operator
//! signs in with a password and an authenticator app; the app is set up in the browser at
//! their first sign-in, and set up again after `reset-second-factor`.

use std::process::ExitCode;

use anyhow::{anyhow, bail};
use domain::{EmailAddress, PersonName};
use jiff::Timestamp;
use store::{ConflictKind, NewUser, StoreError};

use crate::cli::{DataArgs, OperatorCommand, UsageError};
use crate::location::{Mode, open_store};
use crate::users::{hash, read_password};

pub async fn operator(command: OperatorCommand) -> anyhow::Result<ExitCode> {
    match command {
        OperatorCommand::Add {
            data,
            email,
            name,
            password_stdin,
        } => add(data, &email, &name, password_stdin).await,
        OperatorCommand::List { data } => list(data).await,
        OperatorCommand::SetPassword {
            data,
            email,
            password_stdin,
        } => set_password(data, &email, password_stdin).await,
        OperatorCommand::ResetSecondFactor { data, email } => {
            reset_second_factor(data, &email).await
        }
    }
}

fn email_arg(email: &str) -> Result<EmailAddress, UsageError> {
    EmailAddress::parse(email).map_err(|e| UsageError(format!("--email: {e}")))
}

/// Add an operator to the database (the first `practice create` makes a SQLite one).
pub(crate) async fn add_operator(
    store: &dyn store::Store,
    email: &EmailAddress,
    name: &PersonName,
    password: String,
) -> anyhow::Result<()> {
    let operator = NewUser {
        email: email.clone(),
        name: name.clone(),
        password_hash: hash(password).await?,
    };
    match store.create_operator(&operator, Timestamp::now()).await {
        Err(StoreError::Conflict(ConflictKind::UserEmail)) => bail!(
            "there is already an operator {email}; use `anteroom operator set-password` to set \
             a new password"
        ),
        other => other.map(|_| ()).map_err(Into::into),
    }
}

async fn add(
    data: DataArgs,
    email: &str,
    name: &str,
    password_stdin: bool,
) -> anyhow::Result<ExitCode> {
    let email = email_arg(email)?;
    let name = PersonName::parse(name).map_err(|e| UsageError(format!("--name: {e}")))?;
    let (password, generated) = read_password(password_stdin)?;
    let store = open_store(&data.location()?, Mode::Existing).await?;
    let added = add_operator(&*store, &email, &name, password.clone()).await;
    store.close().await;
    added?;
    println!(
        "Added the operator {email}. They sign in at the console (anteroom serve --hosted \
         --operator-host HOST) and set up an authenticator app the first time.{}",
        if generated {
            format!(" Password: {password}")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn list(data: DataArgs) -> anyhow::Result<ExitCode> {
    let store = open_store(&data.location()?, Mode::Existing).await?;
    let operators = store.operators().await;
    store.close().await;
    let operators = operators?;
    if operators.is_empty() {
        println!("No operators yet: add one with `anteroom operator add`.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<32} {:<16} {:<12}  NAME", "EMAIL", "APP", "ADDED");
    for operator in operators {
        println!(
            "{:<32} {:<16} {:<12}  {}",
            operator.email.as_str(),
            if operator.sealed_secret.is_some() {
                "set up"
            } else {
                "not set up yet"
            },
            operator.created_at.strftime("%Y-%m-%d").to_string(),
            operator.name
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn set_password(
    data: DataArgs,
    email: &str,
    password_stdin: bool,
) -> anyhow::Result<ExitCode> {
    let email = email_arg(email)?;
    let (password, generated) = read_password(password_stdin)?;
    let password_hash = hash(password.clone()).await?;
    let store = open_store(&data.location()?, Mode::Existing).await?;
    let done = store.set_operator_password(&email, &password_hash).await;
    store.close().await;
    match done {
        Err(StoreError::NotFound) => return Err(anyhow!("there is no operator {email}")),
        other => other?,
    }
    println!(
        "New password set for the operator {email}; they have been signed out everywhere.{}",
        if generated {
            format!(" Password: {password}")
        } else {
            String::new()
        }
    );
    Ok(ExitCode::SUCCESS)
}

async fn reset_second_factor(data: DataArgs, email: &str) -> anyhow::Result<ExitCode> {
    let email = email_arg(email)?;
    let store = open_store(&data.location()?, Mode::Existing).await?;
    let done = store.reset_operator_authenticator(&email).await;
    store.close().await;
    match done {
        Err(StoreError::NotFound) => return Err(anyhow!("there is no operator {email}")),
        other => other?,
    }
    println!(
        "The operator {email}'s authenticator app is forgotten and they are signed out \
         everywhere. They set up a new one at their next sign-in."
    );
    Ok(ExitCode::SUCCESS)
}
