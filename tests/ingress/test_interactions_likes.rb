# test_interactions_likes.rb -- Like and Undo{Like} through ActivityPub::ProcessingWorker
# jobs: a favourite of a local status (one row however often it arrives, its counter,
# Mastodon's notification job), likes of remote or unknown statuses ignored as Mastodon
# ignores them, Undo removing the favourite and its count (and marking a like it never
# saw), a Misskey reaction (a Like with _misskey_reaction) a favourite like any other,
# and an Undo naming a bare URI that is no boost forwarded to the Ruby side.
require_relative 'pull_helper'

class TestInteractionsLikes < PullTest
  LIKE_URI = 'https://remote.example/users/bob#likes/42'.freeze

  def like(object, id: LIKE_URI)
    fixture_with('like') do |d|
      d['id'] = id
      d['object'] = object
    end
  end

  def favourites
    rows('SELECT id, account_id, status_id FROM favourites ORDER BY id')
  end

  def test_like_of_a_local_status_once_with_counter_and_notification
    original = add_alice_status
    start_ingress_scotty
    2.times { deliver_and_wait(fixture('like')) }

    favs = favourites
    assert_equal 1, favs.size, "one favourite per account and status\n#{@scottys[0].log}"
    assert_equal [BOB.to_s, original.to_s], favs[0][1..]
    assert_equal 1, stat(original, 'favourites_count')
    assert_equal [[ALICE, favs[0][0].to_i, 'Favourite', 'favourite']],
                 queued('default', 'LocalNotificationWorker').map { |j| j['args'] }
  end

  def test_likes_of_remote_or_unknown_statuses_are_ignored
    add_remote(3, 'carol', host: 'elsewhere.example')
    remote = add_status(113_600_000_000_000_001, uri: 'https://elsewhere.example/users/carol/statuses/1',
                                                 account: 3)
    start_ingress_scotty
    deliver_and_wait(like('https://elsewhere.example/users/carol/statuses/1'))
    deliver_and_wait(like('https://elsewhere.example/users/carol/statuses/2', id: "#{LIKE_URI}2"))
    assert_empty favourites, "Mastodon only records likes of local statuses\n#{@scottys[0].log}"
    assert_equal 0, stat(remote, 'favourites_count')
    assert_empty queued('default')
    assert_empty retries
  end

  def test_undo_removes_the_favourite_and_marks_a_like_never_seen
    original = add_alice_status
    start_ingress_scotty
    deliver_and_wait(fixture('like'))
    assert_equal 1, stat(original, 'favourites_count')
    deliver_and_wait(fixture('undo_like'))
    assert_empty favourites, "the favourite is gone\n#{@scottys[0].log}"
    assert_equal 0, stat(original, 'favourites_count')
    assert_nil @redis.get("delete_upon_arrival:#{BOB}:#{LIKE_URI}"), 'an undone like is not marked'

    # undone before it arrived: marked, and the late Like is dropped
    deliver_and_wait(fixture('undo_like'))
    assert_equal LIKE_URI, @redis.get("delete_upon_arrival:#{BOB}:#{LIKE_URI}")
    deliver_and_wait(fixture('like'))
    assert_empty favourites, 'a Like undone before it arrived is dropped'
    assert_equal 0, stat(original, 'favourites_count')
  end

  # Misskey and Sharkey send a reaction as a Like with the emoji in content,
  # _misskey_reaction and an Emoji tag; Mastodon's Like#perform reads none of those, so
  # it is a favourite, and its Undo removes it. The emoji itself is not fetched.
  def test_misskey_reaction_is_a_favourite_and_its_undo_removes_it
    original = add_alice_status
    start_ingress_scotty
    reaction = fixture('like_misskey_reaction')
    deliver_and_wait(reaction)
    favs = favourites
    assert_equal 1, favs.size, "the reaction is a favourite\n#{@scottys[0].log}"
    assert_equal [BOB.to_s, original.to_s], favs[0][1..]
    assert_equal 1, stat(original, 'favourites_count')
    assert_equal 0, count('custom_emojis'), 'a Like stores no emoji'
    inner = JSON.parse(reaction).reject { |k, _| k == '@context' }
    deliver_and_wait(JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'type' => 'Undo',
                                   'id' => "#{inner['id']}/undo", 'actor' => BOB_URI, 'object' => inner))
    assert_empty favourites, "the Undo removes it\n#{@scottys[0].log}"
    assert_equal 0, stat(original, 'favourites_count')
    assert_empty retries
  end

  def test_undo_of_a_bare_uri_that_is_no_boost_is_forwarded
    add_alice_status
    start_ingress_scotty('--forward-unhandled', 'ruby')
    body = JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{BOB_URI}#undo/9",
                         'type' => 'Undo', 'actor' => BOB_URI, 'object' => "#{BOB_URI}#follows/9")
    jid = deliver_and_wait(body)
    assert_equal [jid], queued('ruby').map { |j| j['jid'] },
                 "Ruby finds out what it was (a follow, a block)\n#{@scottys[0].log}"
    assert_empty @redis.keys('delete_upon_arrival:*'), 'nothing decided here'
  end
end
