//! The loop every use case runs around a conditional write: read, decide, write over the revision read,
//! and after a lost race (another writer moved the item on) read again and decide again, at most
//! [`MAX_RACES`] times.

use std::future::Future;

use super::UseCaseError;

/// How many times a use case retries a conditional write that lost a race (re-reading the item
/// between tries) before it answers [`StoreError::ConditionFailed`](crate::ports::StoreError::ConditionFailed).
pub(crate) const MAX_RACES: usize = 5;

/// What one try of a conditional write comes to.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Race<S, T> {
    /// The use case has its answer.
    Done(T),
    /// The write lost a race: try again from `S`, the item as read again. As the answer of
    /// [`retry_on_race`]: the last try lost too.
    Retry(S),
}

impl<S, T> Race<S, T> {
    /// The same race with `f` applied to its answer.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Race<S, U> {
        match self {
            Race::Done(answer) => Race::Done(f(answer)),
            Race::Retry(state) => Race::Retry(state),
        }
    }

    /// The answer, or [`StoreError::ConditionFailed`](crate::ports::StoreError::ConditionFailed) when
    /// every try lost its race.
    pub(crate) fn won(self) -> Result<T, crate::ports::StoreError> {
        match self {
            Race::Done(answer) => Ok(answer),
            Race::Retry(_) => Err(crate::ports::StoreError::ConditionFailed),
        }
    }
}

/// Runs `attempt` from `state` until it answers [`Race::Done`] or an error (which gives up and is
/// answered as it is), at most [`MAX_RACES`] times; after that many lost races the answer is the last
/// [`Race::Retry`], whose state the caller may still use. `attempt` gets the state and the number of the
/// try, from 0.
pub(crate) async fn retry_on_race<S, T, F, Fut>(state: S, attempt: F) -> Result<Race<S, T>, UseCaseError>
where
    F: FnMut(S, usize) -> Fut,
    Fut: Future<Output = Result<Race<S, T>, UseCaseError>>,
{
    retry_up_to(MAX_RACES, state, attempt).await
}

/// [`retry_on_race`] with another number of tries.
pub(crate) async fn retry_up_to<S, T, F, Fut>(
    tries: usize,
    mut state: S,
    mut attempt: F,
) -> Result<Race<S, T>, UseCaseError>
where
    F: FnMut(S, usize) -> Fut,
    Fut: Future<Output = Result<Race<S, T>, UseCaseError>>,
{
    for number in 0..tries {
        match attempt(state, number).await? {
            Race::Done(answer) => return Ok(Race::Done(answer)),
            Race::Retry(next) => state = next,
        }
    }
    Ok(Race::Retry(state))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use super::*;
    use crate::ports::StoreError;

    #[tokio::test]
    async fn retries_at_most_max_races_times_and_answers_the_last_state() {
        let calls = Cell::new(0);
        let answer: Result<Race<usize, ()>, _> = retry_on_race(0, |state, number| {
            calls.set(calls.get() + 1);
            assert_eq!(state, number, "each try gets the state of the one before");
            async move { Ok(Race::Retry(state + 1)) }
        })
        .await;
        assert_eq!(calls.get(), MAX_RACES);
        assert_eq!(answer, Ok(Race::Retry(MAX_RACES)));
        assert_eq!(
            answer.unwrap().won(),
            Err(StoreError::ConditionFailed),
            "all races lost is a condition failure"
        );
    }

    #[tokio::test]
    async fn stops_at_done() {
        let calls = Cell::new(0);
        let answer = retry_on_race(0, |state: usize, _| {
            calls.set(calls.get() + 1);
            async move {
                Ok(if state == 2 {
                    Race::Done("won")
                } else {
                    Race::Retry(state + 1)
                })
            }
        })
        .await;
        assert_eq!(calls.get(), 3);
        assert_eq!(answer.unwrap().won(), Ok("won"));
    }

    #[tokio::test]
    async fn stops_at_an_error() {
        let calls = Cell::new(0);
        let answer: Result<Race<usize, ()>, _> = retry_on_race(0, |_, _| {
            calls.set(calls.get() + 1);
            async { Err(UseCaseError::NotFound("payment")) }
        })
        .await;
        assert_eq!(calls.get(), 1);
        assert_eq!(answer, Err(UseCaseError::NotFound("payment")));
    }

    #[tokio::test]
    async fn retry_up_to_takes_its_own_number_of_tries() {
        let calls = Cell::new(0);
        let answer: Result<Race<(), ()>, _> = retry_up_to(MAX_RACES + 3, (), |(), _| {
            calls.set(calls.get() + 1);
            async { Ok(Race::Retry(())) }
        })
        .await;
        assert_eq!(calls.get(), MAX_RACES + 3);
        assert_eq!(answer, Ok(Race::Retry(())));
    }
}
