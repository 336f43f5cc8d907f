//! Integration tests: forge_client. Drives `shipgate::forge::Client` against the fake.

use crate::support::fake_gitea::FakeGitea;

#[test]
fn current_user_answers_the_token_owner() {
    let fake = FakeGitea::start();
    fake.add_user("alice", "tok-alice");
    let client = shipgate::forge::Client::new(
        &fake.api_url(),
        shipgate::context::Secret::new("tok-alice"),
        shipgate::forge::Options::default(),
    )
    .expect("client");
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let user = runtime.block_on(client.current_user()).expect("user");
    assert_eq!(user.login, "alice");
    assert_eq!(fake.requests().len(), 1);
    assert_eq!(fake.requests()[0].route, "/user");
    assert!(fake.unmatched().is_empty());
}
