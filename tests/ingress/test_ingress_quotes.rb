# test_ingress_quotes.rb -- Create of a quote post stored natively as Mastodon's
# ActivityPub::Activity::Create#process_quote and VerifyQuoteService do: the quotes
# row (state pending 0 / accepted 1 / rejected 2, legacy, approval_uri, accounts and
# the quoted status), quotes_count on acceptance, in the shapes Mastodon 4.5+ (FEP-044f
# `quote` + `quoteAuthorization`, with `_misskey_quote` and `quoteUrl` duplicates),
# Misskey (`_misskey_quote` only: legacy) and Pleroma/Akkoma (`quoteUrl`) send; the
# QuoteAuthorization fetched from the fixture origin; forged approvals and a quote of
# a private status left pending; a transient failure scheduling the refetch worker;
# the refetch and refresh workers on pull.
require_relative 'pull_helper'

class TestIngressQuotes < PullTest
  CAROL = 3

  def quote_create(n, quoted, keys: %w[quote _misskey_quote quoteUrl], approval: nil, object: {})
    uri = "#{BOB_URI}/statuses/#{n}"
    note = { 'id' => uri, 'type' => 'Note', 'attributedTo' => BOB_URI, 'content' => '<p>look at this</p>',
             'published' => '2026-11-24T18:20:00Z', 'to' => [PUBLIC], 'cc' => ["#{BOB_URI}/followers"] }
    keys.each { |k| note[k] = quoted }
    note['quoteAuthorization'] = approval if approval
    JSON.generate('@context' => ['https://www.w3.org/ns/activitystreams', { 'quote' => 'https://w3id.org/fep/044f#quote' }],
                  'id' => "#{uri}/activity", 'type' => 'Create', 'actor' => BOB_URI, 'to' => [PUBLIC],
                  'object' => note.merge(object))
  end

  def serve_approval(host, path, interacting:, target:, by:, type: 'QuoteAuthorization')
    serve(host, path, '@context' => ['https://www.w3.org/ns/activitystreams'], 'id' => origin_url(host, path),
                      'type' => type, 'attributedTo' => by, 'interactingObject' => interacting,
                      'interactionTarget' => target)
  end

  # [state, legacy, approval_uri, account_id, quoted_account_id, quoted_status_id] of the quote of uri
  def quote_row(uri)
    rows("SELECT q.state, q.legacy, coalesce(q.approval_uri, ''), q.account_id, coalesce(q.quoted_account_id, 0), " \
         "coalesce(q.quoted_status_id, 0) FROM quotes q JOIN statuses s ON s.id = q.status_id " \
         "WHERE s.uri = #{q(uri)}")
  end

  def carol_note(n = 1, text: 'quoted')
    add_origin_account(CAROL, 'carol')
    serve_note(HOST, 'carol', n, text: text)
  end

  def test_mastodon_quote_with_a_matching_authorization_is_accepted_and_counted
    start_fixture_origin
    quoted = carol_note
    mine = "#{BOB_URI}/statuses/501"
    approval = serve_approval(HOST, 'users/carol/quote_authorizations/1', interacting: mine, target: quoted,
                                                                          by: origin_url(HOST, 'users/carol'))
    start_ingress_scotty
    policy = { 'canQuote' => { 'automaticApproval' => [PUBLIC], 'manualApproval' => ["#{BOB_URI}/followers"] } }
    deliver_and_wait(quote_create(501, quoted, approval: approval, object: { 'interactionPolicy' => policy }))
    assert_equal ((1 << 1) << 16 | 1 << 2).to_s, psql("SELECT quote_approval_policy FROM statuses " \
                                                    "WHERE uri = #{q(mine)}").strip, 'public automatic, followers manual'

    fetched = status_id(quoted)
    refute_nil fetched, "the quoted status was fetched\n#{@scottys[0].log}"
    assert_equal [['1', 'f', approval, BOB.to_s, CAROL.to_s, fetched.to_s]], quote_row(mine), @scottys[0].log
    assert_equal 1, stat(fetched, 'quotes_count')
    assert_match(/\A\d{15,}\z/, psql("SELECT id FROM quotes").strip, 'a timestamp id')
    assert_empty retries
  end

  def test_misskey_and_pleroma_quotes_are_legacy_and_pending
    known = add_status(113_400_000_000_000_100, uri: 'https://remote.example/users/dan/statuses/1', account: BOB)
    start_ingress_scotty
    deliver_and_wait(quote_create(502, 'https://remote.example/users/dan/statuses/1', keys: %w[_misskey_quote]))
    deliver_and_wait(quote_create(503, 'https://remote.example/users/dan/statuses/1', keys: %w[quoteUrl]))
    [502, 503].each do |n|
      # bob quoting his own status: the self-quote is accepted, legacy: not counted
      assert_equal [['1', 't', '', BOB.to_s, BOB.to_s, known.to_s]], quote_row("#{BOB_URI}/statuses/#{n}"),
                   "#{n}\n#{@scottys[0].log}"
    end
    assert_equal 0, stat(known, 'quotes_count'), 'Quote#update_counter_caches! skips legacy quotes'
  end

  def test_fep044f_self_quote_is_accepted_and_counted
    known = add_status(113_400_000_000_000_101, uri: "#{BOB_URI}/statuses/1", account: BOB, visibility: 2)
    start_ingress_scotty
    deliver_and_wait(quote_create(504, "#{BOB_URI}/statuses/1", keys: %w[quote]))
    assert_equal [['1', 'f', '', BOB.to_s, BOB.to_s, known.to_s]], quote_row("#{BOB_URI}/statuses/504"),
                 'a self-quote of a private status is allowed'
    assert_equal 1, stat(known, 'quotes_count')
  end

  def test_forged_approvals_are_not_accepted
    start_fixture_origin
    quoted = carol_note
    carol = origin_url(HOST, 'users/carol')
    forged = {
      505 => serve_approval(OTHER, 'forged/1', interacting: "#{BOB_URI}/statuses/505", target: quoted, by: carol),
      506 => serve_approval(HOST, 'auth/2', interacting: "#{BOB_URI}/statuses/999", target: quoted, by: carol),
      507 => serve_approval(HOST, 'auth/3', interacting: "#{BOB_URI}/statuses/507", target: quoted,
                                            by: origin_url(HOST, 'users/mallory')),
      508 => serve_approval(HOST, 'auth/4', interacting: "#{BOB_URI}/statuses/508", target: quoted, by: carol,
                                            type: 'Note')
    }
    start_ingress_scotty
    forged.each { |n, approval| deliver_and_wait(quote_create(n, quoted, approval: approval)) }
    fetched = status_id(quoted)
    forged.each_key do |n|
      assert_equal [['0', 'f', '', BOB.to_s, CAROL.to_s, fetched.to_s]], quote_row("#{BOB_URI}/statuses/#{n}"),
                   "#{n}\n#{@scottys[0].log}"
    end
    assert_equal 0, stat(fetched, 'quotes_count')
    assert_equal 4, @scottys[0].log.scan(/not accepted: approval .* refused: /).size, @scottys[0].log
  end

  def test_quote_of_a_private_status_stays_pending_without_it
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    quoted = origin_url(HOST, 'users/carol/statuses/9')
    private_one = add_status(113_400_000_000_000_102, uri: quoted, account: CAROL, visibility: 2)
    mine = "#{BOB_URI}/statuses/509"
    approval = serve_approval(HOST, 'auth/5', interacting: mine, target: quoted, by: origin_url(HOST, 'users/carol'))
    start_ingress_scotty
    deliver_and_wait(quote_create(509, quoted, approval: approval))
    assert_equal [['0', 'f', '', BOB.to_s, '0', '0']], quote_row(mine), @scottys[0].log
    assert_equal 0, stat(private_one, 'quotes_count')
    assert_match(/visibility_mismatch/, @scottys[0].log)
  end

  def test_gone_approval_rejects_and_a_failing_one_schedules_the_refetch
    start_fixture_origin
    quoted = carol_note
    start_ingress_scotty
    deliver_and_wait(quote_create(510, quoted, approval: origin_url(HOST, 'auth/missing')))
    assert_equal '2', quote_row("#{BOB_URI}/statuses/510").dig(0, 0), @scottys[0].log
    deliver_and_wait(quote_create(511, quoted, approval: origin_url(HOST, '_status/503')))
    assert_equal '0', quote_row("#{BOB_URI}/statuses/511").dig(0, 0)
    jobs = scheduled('ActivityPub::RefetchAndVerifyQuoteWorker')
    quote_id = psql("SELECT q.id FROM quotes q JOIN statuses s ON s.id = q.status_id " \
                    "WHERE s.uri = #{q("#{BOB_URI}/statuses/511")}").strip.to_i
    assert_equal [[quote_id, quoted, { 'request_id' => nil, 'approval_uri' => origin_url(HOST, '_status/503') }]],
                 jobs.map { |j| j['args'] }, @scottys[0].log
    assert_equal ['pull', 5], [jobs[0]['queue'], jobs[0]['retry']]
  end

  # update_interaction_policies!: every explicit or implicit Update sets the status's
  # quote_approval_policy from its interactionPolicy (0 without one); one Ruby's
  # StatusParser would raise on is left to Ruby.
  def test_updates_set_the_quote_approval_policy
    start_ingress_scotty('--forward-unhandled', 'ruby')
    public_auto = { 'canQuote' => { 'automaticApproval' => [PUBLIC] } }
    deliver_and_wait(fixture_with('create_note_mastodon') { |d| d['object']['interactionPolicy'] = public_auto })
    policy = -> { psql("SELECT quote_approval_policy FROM statuses WHERE uri = #{q(NOTE_URI)}").strip.to_i }
    assert_equal (1 << 1) << 16, policy.call, @scottys[0].log
    deliver_and_wait(fixture('update_note'))
    assert_equal 0, policy.call, "an explicit Update without interactionPolicy clears it\n#{@scottys[0].log}"
    # the same `updated` again: an implicit update
    deliver_and_wait(fixture_with('update_note') { |d| d['object']['interactionPolicy'] = public_auto })
    assert_equal (1 << 1) << 16, policy.call, 'an implicit Update sets it too'
    jid = deliver_and_wait(fixture_with('update_note') do |d|
      d['object']['updated'] = '2026-11-24T19:00:00Z'
      d['object']['interactionPolicy'] = 'everyone'
    end)
    assert_equal [jid], queued('ruby').map { |j| j['jid'] }, 'a policy Ruby raises on is Ruby\'s'
    assert_empty retries
  end

  # ProcessStatusUpdateService with the quoted post kept: an explicit edit keeps the
  # quote and verifies it again (status_edits carry its quote_id); a new approval URI
  # sets it back to pending first (here the new one is gone: rejected, quotes_count
  # back to 0); an implicit Update with a working approval accepts it again and
  # redistributes.
  def test_updates_of_a_quote_post_keep_and_verify_the_quote
    start_fixture_origin
    quoted = carol_note
    mine = "#{BOB_URI}/statuses/550"
    by = origin_url(HOST, 'users/carol')
    approval = serve_approval(HOST, 'auth/550', interacting: mine, target: quoted, by: by)
    start_ingress_scotty('--forward-unhandled', 'ruby')
    deliver_and_wait(quote_create(550, quoted, approval: approval))
    fetched = status_id(quoted)
    quote_id = psql("SELECT id FROM quotes WHERE status_id = #{status_id(mine)}").strip
    assert_equal 1, stat(fetched, 'quotes_count'), @scottys[0].log
    edit = lambda do |updated, approval_uri, object = {}|
      doc = JSON.parse(quote_create(550, quoted, approval: approval_uri, object: object))
      doc['type'] = 'Update'
      doc['id'] = "#{mine}#updates/#{updated}"
      doc['object']['updated'] = updated
      JSON.generate(doc)
    end
    deliver_and_wait(edit.call('2026-11-24T19:00:00Z', approval, 'content' => '<p>edited</p>'))
    assert_equal [['1', 'f', approval, BOB.to_s, CAROL.to_s, fetched.to_s]], quote_row(mine), @scottys[0].log
    assert_equal [[quote_id, quote_id]], [rows("SELECT quote_id FROM status_edits WHERE status_id = " \
                                               "#{status_id(mine)} ORDER BY created_at").flatten],
                 'both versions name the quote'
    assert_empty queued('ruby'), 'a kept quote is native'

    deliver_and_wait(edit.call('2026-11-24T19:10:00Z', origin_url(HOST, 'auth/gone')))
    assert_equal [['2', 'f', '', BOB.to_s, CAROL.to_s, fetched.to_s]], quote_row(mine),
                 "a new approval URI that is gone: pending, then rejected\n#{@scottys[0].log}"
    assert_equal 0, stat(fetched, 'quotes_count')

    @redis.del('queue:default')
    deliver_and_wait(edit.call('2026-11-24T19:10:00Z', approval)) # the same `updated`: implicit
    assert_equal '1', quote_row(mine).dig(0, 0), "the implicit Update's approval accepts it\n#{@scottys[0].log}"
    assert_equal [[status_id(mine), { 'update' => true }]], queued('default', 'DistributionWorker').map { |j| j['args'] }
    assert_empty queued('ruby')
    assert_empty retries
  end

  # The Create of quote_create(n, ...) as an Update of that status, edited at `updated`.
  def quote_update(n, quoted, updated, **kw)
    doc = JSON.parse(quote_create(n, quoted, **kw))
    doc['type'] = 'Update'
    doc['id'] = "#{BOB_URI}/statuses/#{n}#updates/#{updated}"
    doc['object']['updated'] = updated
    JSON.generate(doc)
  end

  # [quote_id or 'none'] of each status_edits row of uri, oldest first
  def edit_quotes(uri)
    rows("SELECT coalesce(quote_id::text, 'none') FROM status_edits WHERE status_id = #{status_id(uri)} " \
         'ORDER BY created_at, id').flatten
  end

  # ProcessStatusUpdateService#update_quote! on explicit Updates: an added quote is a new
  # pending row verified after the commit (accepted and counted here); another quoted
  # post destroys it (the count taken back) and creates one; a removal destroys it. A
  # quote change alone is no significant change (no edit, edited_at kept); the edits
  # name the quote the status had then, and after a removal the destroyed one (the
  # association still holds it when the snapshot is taken).
  def test_updates_that_add_change_and_remove_the_quote
    start_fixture_origin
    first = carol_note(1)
    second = serve_note(HOST, 'carol', 2, text: 'another')
    mine = "#{BOB_URI}/statuses/560"
    by = origin_url(HOST, 'users/carol')
    approval1 = serve_approval(HOST, 'auth/560-1', interacting: mine, target: first, by: by)
    approval2 = serve_approval(HOST, 'auth/560-2', interacting: mine, target: second, by: by)
    start_ingress_scotty('--forward-unhandled', 'ruby')
    deliver_and_wait(quote_create(560, nil, keys: []))
    assert_equal [], quote_row(mine), @scottys[0].log

    deliver_and_wait(quote_update(560, first, '2026-11-24T19:00:00Z', approval: approval1,
                                                                       object: { 'content' => '<p>now quoting</p>' }))
    first_id = status_id(first)
    refute_nil first_id, "the quoted status was fetched\n#{@scottys[0].log}"
    assert_equal [['1', 'f', approval1, BOB.to_s, CAROL.to_s, first_id.to_s]], quote_row(mine), @scottys[0].log
    assert_equal 1, stat(first_id, 'quotes_count')
    added = psql("SELECT id FROM quotes WHERE status_id = #{status_id(mine)}").strip
    assert_equal ['none', added], edit_quotes(mine), 'the original had no quote, the edit has the new one'

    edited_at = psql("SELECT edited_at FROM statuses WHERE uri = #{q(mine)}").strip
    deliver_and_wait(quote_update(560, second, '2026-11-24T19:10:00Z', approval: approval2,
                                                                        object: { 'content' => '<p>now quoting</p>' }))
    second_id = status_id(second)
    assert_equal [['1', 'f', approval2, BOB.to_s, CAROL.to_s, second_id.to_s]], quote_row(mine), @scottys[0].log
    changed = psql("SELECT id FROM quotes WHERE status_id = #{status_id(mine)}").strip
    refute_equal added, changed, 'the old quote is destroyed and a new one created'
    assert_equal 0, count('quotes', "id = #{added}")
    assert_equal [0, 1], [stat(first_id, 'quotes_count'), stat(second_id, 'quotes_count')]
    assert_equal ['none', added], edit_quotes(mine), 'a quote change alone is no significant change'
    assert_equal edited_at, psql("SELECT edited_at FROM statuses WHERE uri = #{q(mine)}").strip

    deliver_and_wait(quote_update(560, nil, '2026-11-24T19:20:00Z', keys: [], object: { 'content' => '<p>plain</p>' }))
    assert_equal [], quote_row(mine), @scottys[0].log
    assert_equal 0, stat(second_id, 'quotes_count'), 'the accepted quote is uncounted when destroyed'
    assert_equal ['none', added, changed], edit_quotes(mine)
    assert_equal '<p>plain</p>', psql("SELECT text FROM statuses WHERE uri = #{q(mine)}").strip
    assert_empty queued('ruby')
    assert_empty retries
  end

  # A Tombstone replacing a quote: the new quote is deleted; a pending quote whose quoted
  # status is not known yet is kept (quoted_status.present? is false), as is one whose
  # quoted status was discarded.
  def test_an_update_to_a_tombstone_replaces_the_quote_with_a_deleted_one
    start_fixture_origin
    quoted = carol_note(1)
    mine = "#{BOB_URI}/statuses/561"
    start_ingress_scotty('--forward-unhandled', 'ruby')
    deliver_and_wait(quote_create(561, quoted, keys: %w[quote]))
    before = psql("SELECT id FROM quotes WHERE status_id = #{status_id(mine)}").strip
    gone = { 'type' => 'Tombstone', 'id' => "#{origin_url(HOST, 'users/carol/statuses/gone')}" }
    deliver_and_wait(quote_update(561, gone, '2026-11-24T19:00:00Z', keys: %w[quote]))
    assert_equal [['4', 'f', '', BOB.to_s, '0', '0']], quote_row(mine), @scottys[0].log
    refute_equal before, psql("SELECT id FROM quotes WHERE status_id = #{status_id(mine)}").strip
    assert_empty queued('ruby')
  end

  # Hostile variants of an added quote, as Create treats them: a quote of a private
  # status stays pending without it (visibility_mismatch), a forged approval leaves it
  # pending with the quoted status; both logged.
  def test_an_update_adding_a_quote_of_a_private_status_or_with_a_forged_approval_stays_pending
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    private_uri = origin_url(HOST, 'users/carol/statuses/9')
    private_one = add_status(113_400_000_000_000_110, uri: private_uri, account: CAROL, visibility: 2)
    public_uri = serve_note(HOST, 'carol', 1, text: 'quoted')
    by = origin_url(HOST, 'users/carol')
    a = "#{BOB_URI}/statuses/570"
    b = "#{BOB_URI}/statuses/571"
    approval = serve_approval(HOST, 'auth/570', interacting: a, target: private_uri, by: by)
    forged = serve_approval(OTHER, 'forged/571', interacting: b, target: public_uri, by: by)
    start_ingress_scotty('--forward-unhandled', 'ruby')
    deliver_and_wait(quote_create(570, nil, keys: []))
    deliver_and_wait(quote_create(571, nil, keys: []))
    deliver_and_wait(quote_update(570, private_uri, '2026-11-24T19:00:00Z', approval: approval))
    deliver_and_wait(quote_update(571, public_uri, '2026-11-24T19:00:00Z', approval: forged))
    assert_equal [['0', 'f', '', BOB.to_s, '0', '0']], quote_row(a), @scottys[0].log
    assert_equal 0, stat(private_one, 'quotes_count')
    assert_match(/quote of #{Regexp.escape(a)} .*visibility_mismatch/, @scottys[0].log)
    assert_equal [['0', 'f', '', BOB.to_s, CAROL.to_s, status_id(public_uri).to_s]], quote_row(b), @scottys[0].log
    assert_match(/quote of .* by #{Regexp.escape(b)} not accepted: approval .* refused: /, @scottys[0].log)
    assert_empty queued('ruby')
    assert_empty retries
  end

  # Pointing an accepted quote of a local post elsewhere stays Ruby's (RevokeQuoteService
  # delivers a Delete of the authorization); nothing is written.
  def test_an_update_that_revokes_a_quote_of_a_local_post_is_forwarded
    local = add_alice_status
    start_fixture_origin
    other = carol_note(1)
    start_ingress_scotty('--forward-unhandled', 'ruby')
    deliver_and_wait(quote_create(580, ALICE_STATUS_URI, keys: %w[quote]))
    psql("UPDATE quotes SET state = 1 WHERE quoted_status_id = #{local}") # accepted by QuoteRequest
    revoke = deliver_and_wait(quote_update(580, other, '2026-11-24T19:00:00Z', keys: %w[quote]))
    assert_equal [revoke], queued('ruby').map { |j| j['jid'] }, @scottys[0].log
    assert_equal [['1', 'f', '', BOB.to_s, ALICE.to_s, local.to_s]], quote_row("#{BOB_URI}/statuses/580"),
                 'nothing written'
  end

  # A removed quote a local account was notified of takes its notification with it
  # (Quote has_one :notification, dependent: :destroy), and the notification request of
  # the filtered ones is reconsidered: recounted while others remain, destroyed after.
  def test_removing_a_notified_quote_destroys_its_notification_and_reconsiders_the_request
    local = add_alice_status
    start_ingress_scotty('--forward-unhandled', 'ruby')
    [581, 582].each { |n| deliver_and_wait(quote_create(n, ALICE_STATUS_URI, keys: %w[quote])) }
    psql("UPDATE quotes SET state = 1 WHERE quoted_status_id = #{local}")
    [581, 582].each do |n|
      id = psql("SELECT id FROM quotes WHERE status_id = #{status_id("#{BOB_URI}/statuses/#{n}")}").strip
      psql("INSERT INTO notifications (account_id, activity_id, activity_type, created_at, updated_at, " \
           "from_account_id, type, filtered) VALUES (#{ALICE}, #{id}, 'Quote', now(), now(), #{BOB}, 'quote', true)")
    end
    psql("INSERT INTO notification_requests (account_id, from_account_id, notifications_count, created_at, " \
         "updated_at) VALUES (#{ALICE}, #{BOB}, 2, now(), now())")
    deliver_and_wait(quote_update(581, nil, '2026-11-24T19:00:00Z', keys: []))
    assert_equal [], quote_row("#{BOB_URI}/statuses/581"), @scottys[0].log
    assert_equal 1, count('notifications'), 'the removed quote\'s notification is destroyed'
    assert_equal '1', psql('SELECT notifications_count FROM notification_requests').strip, 'recounted'
    assert_equal 0, stat(local, 'quotes_count'), 'the uncounted accepted quote (set by hand here) leaves 0, never below'
    deliver_and_wait(quote_update(582, nil, '2026-11-24T19:00:00Z', keys: []))
    assert_equal 0, count('notifications')
    assert_equal 0, count('notification_requests'), 'no filtered notification left: the request is destroyed'
    assert_empty queued('ruby')
    assert_empty retries
  end

  def announce(n, object, actor: BOB_URI)
    JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{actor}/statuses/#{n}/activity",
                  'type' => 'Announce', 'actor' => actor, 'published' => '2026-11-24T18:20:00Z', 'to' => [PUBLIC],
                  'object' => object)
  end

  # Announce#status_from_object: a self-boost's embedded quote post is a Create of it
  # (the quotes row, verified and counted), then the boost; one whose quote has no
  # http URI is forwarded as its Create would be.
  def test_a_self_boost_of_a_quote_post_stores_and_verifies_its_quote
    start_fixture_origin
    quoted = carol_note
    mine = "#{BOB_URI}/statuses/590"
    approval = serve_approval(HOST, 'auth/590', interacting: mine, target: quoted, by: origin_url(HOST, 'users/carol'))
    start_ingress_scotty('--forward-unhandled', 'ruby')
    deliver_and_wait(announce(591, JSON.parse(quote_create(590, quoted, approval: approval))['object']))
    fetched = status_id(quoted)
    assert_equal [['1', 'f', approval, BOB.to_s, CAROL.to_s, fetched.to_s]], quote_row(mine), @scottys[0].log
    assert_equal 1, stat(fetched, 'quotes_count')
    assert_equal 1, count('statuses', "reblog_of_id = #{status_id(mine)}"), 'and the boost'
    assert_empty queued('ruby')
    no_uri = deliver_and_wait(announce(593, JSON.parse(quote_create(592, { 'type' => 'Tombstone' }, keys: %w[quote]))['object']))
    assert_equal [no_uri], queued('ruby').map { |j| j['jid'] }, 'a quote with no http URI is Ruby\'s, as in a Create'
    assert_nil status_id("#{BOB_URI}/statuses/592")
    assert_empty retries
  end

  # ActivityPub::RefetchAndVerifyQuoteWorker on pull: the approval answering now accepts
  # the quote and redistributes the status; an unknown quote is done; 503 retries.
  def test_refetch_worker_verifies_again
    start_fixture_origin
    quoted = carol_note
    mine = "#{BOB_URI}/statuses/520"
    start_ingress_scotty
    deliver_and_wait(quote_create(520, quoted, approval: origin_url(HOST, '_status/503')))
    quote_id = psql("SELECT q.id FROM quotes q JOIN statuses s ON s.id = q.status_id WHERE s.uri = #{q(mine)}").strip.to_i
    approval = serve_approval(HOST, 'auth/520', interacting: mine, target: quoted, by: origin_url(HOST, 'users/carol'))
    @redis.del('queue:default')
    push = lambda do |args|
      Sidekiq::Client.push('class' => 'ActivityPub::RefetchAndVerifyQuoteWorker', 'queue' => 'pull', 'retry' => 5,
                           'args' => args)
    end
    push.call([quote_id, quoted, { 'request_id' => nil, 'approval_uri' => approval }])
    push.call([quote_id + 12_345, quoted, {}])
    start_queue_scotty('pull')
    wait_queue_idle('pull')
    fetched = status_id(quoted)
    assert_equal [['1', 'f', approval, BOB.to_s, CAROL.to_s, fetched.to_s]], quote_row(mine), @scottys.last.log
    assert_equal 1, stat(fetched, 'quotes_count')
    assert_equal [[status_id(mine), { 'update' => true }]], queued('default', 'DistributionWorker').map { |j| j['args'] }
    assert_empty retries, 'an unknown quote is done'
    push.call([quote_id, quoted, { 'approval_uri' => origin_url(HOST, '_status/503') }])
    wait_until(30, 'the retry') { retries.any? { |j| j['class'] == 'ActivityPub::RefetchAndVerifyQuoteWorker' } }
    assert_equal '1', quote_row(mine).dig(0, 0), 'a transient failure changes nothing'
  end

  # ActivityPub::QuoteRefreshWorker on pull: a quote checked over a week ago is verified
  # again with its approval_uri (gone now: the accepted quote is revoked) and touched; a
  # fresh one and an unknown one are left alone; its until_executed lock is released.
  def test_refresh_worker_rechecks_a_stale_approval
    start_fixture_origin
    quoted = carol_note
    stale = "#{BOB_URI}/statuses/540"
    fresh = "#{BOB_URI}/statuses/541"
    by = origin_url(HOST, 'users/carol')
    start_ingress_scotty
    [[stale, 540], [fresh, 541]].each do |uri, n|
      approval = serve_approval(HOST, "auth/#{n}", interacting: uri, target: quoted, by: by)
      deliver_and_wait(quote_create(n, quoted, approval: approval))
    end
    fetched = status_id(quoted)
    assert_equal 2, stat(fetched, 'quotes_count'), @scottys[0].log
    id_of = ->(uri) { psql("SELECT q.id FROM quotes q JOIN statuses s ON s.id = q.status_id WHERE s.uri = #{q(uri)}").strip.to_i }
    psql("UPDATE quotes SET updated_at = updated_at - interval '8 days' WHERE id = #{id_of.call(stale)}")
    psql("UPDATE quotes SET updated_at = updated_at - interval '6 days' WHERE id = #{id_of.call(fresh)}")
    File.delete(File.join(@fixture_root, HOST, 'auth/540.json'), File.join(@fixture_root, HOST, 'auth/541.json'))
    digest = 'uniquejobs:0123456789abcdef'
    [[id_of.call(stale), digest], [id_of.call(fresh), nil], [id_of.call(stale) + 12_345, nil]].each do |id, lock|
      jid = SecureRandom.hex(12)
      job = { 'class' => 'ActivityPub::QuoteRefreshWorker', 'queue' => 'pull', 'retry' => 3, 'dead' => false,
              'args' => [id], 'jid' => jid }
      if lock
        job.merge!('lock' => 'until_executed', 'lock_digest' => lock)
        @redis.hset("#{lock}:LOCKED", jid, Time.now.to_f.to_s)
        @redis.set(lock, jid)
      end
      Sidekiq::Client.push(job)
    end
    start_queue_scotty('pull')
    wait_queue_idle('pull')
    assert_equal [['3', 'f', '', BOB.to_s, CAROL.to_s, fetched.to_s]], quote_row(stale),
                 "the gone approval revokes the stale quote\n#{@scottys.last.log}"
    assert_equal '1', quote_row(fresh).dig(0, 0), 'a quote checked within the week is not fetched again'
    assert_equal 1, stat(fetched, 'quotes_count')
    assert_equal 't', psql("SELECT updated_at > timezone('UTC', now()) - interval '1 minute' FROM quotes " \
                           "WHERE id = #{id_of.call(stale)}").strip, 'the stale quote is touched'
    assert_equal 0, @redis.exists("#{digest}:LOCKED"), 'the until_executed lock is released after the job'
    assert_empty retries, 'an unknown quote is done'
    assert_empty queued('ruby')
  end

  # Delete#revoke_quote: only the quoted author's Delete of the approval counts
  def test_delete_of_the_authorization_revokes_the_quote
    start_fixture_origin
    quoted = carol_note
    mine = "#{BOB_URI}/statuses/530"
    approval = serve_approval(HOST, 'auth/530', interacting: mine, target: quoted, by: origin_url(HOST, 'users/carol'))
    start_ingress_scotty
    deliver_and_wait(quote_create(530, quoted, approval: approval))
    fetched = status_id(quoted)
    assert_equal 1, stat(fetched, 'quotes_count'), @scottys[0].log
    @redis.del('queue:default')
    delete = lambda do |actor_uri, object|
      JSON.generate('@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{actor_uri}#delete-#{rand(1 << 30)}",
                    'type' => 'Delete', 'actor' => actor_uri, 'object' => object)
    end
    deliver_and_wait(delete.call(BOB_URI, approval)) # not the quoted author
    assert_equal '1', quote_row(mine).dig(0, 0), "bob cannot revoke carol's approval\n#{@scottys[0].log}"
    deliver_and_wait(delete.call(origin_url(HOST, 'users/carol'), { 'id' => approval, 'type' => 'QuoteAuthorization' }),
                     actor: CAROL)
    assert_equal [['3', 'f', '', BOB.to_s, CAROL.to_s, fetched.to_s]], quote_row(mine), @scottys[0].log
    assert_equal 0, stat(fetched, 'quotes_count')
    assert_equal [[status_id(mine), { 'update' => true }]], queued('default', 'DistributionWorker').map { |j| j['args'] }
    assert_empty retries
  end

  # A carol quote post on the origin: n quotes `quoted` (keys: the quote keys).
  def serve_carol_quote(n, quoted, approval: nil)
    doc = { '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => origin_url(HOST, "users/carol/statuses/#{n}"),
            'type' => 'Note', 'attributedTo' => origin_url(HOST, 'users/carol'), 'content' => "<p>carol #{n}</p>",
            'published' => '2026-11-24T18:00:00Z', 'to' => [PUBLIC], 'quote' => quoted }
    doc['quoteAuthorization'] = approval if approval
    serve(HOST, "users/carol/statuses/#{n}", doc)
  end

  # A quoted status that is itself a quote post is fetched and stored with its own
  # quote, verified in turn (FetchRemoteStatusService at depth + 1): bob's post (depth
  # 0) fetches 11 (1), 11 fetches 12 (2), 12 fetches 13 (3), and 13's quoted post is
  # past VerifyQuoteService::MAX_SYNCHRONOUS_DEPTH: not fetched, 13's quote stays
  # pending without it (no approval, so no refetch either). carol's quotes of her own
  # posts are self-quotes, accepted.
  def test_a_quote_of_a_quote_post_is_fetched_up_to_the_synchronous_depth
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    last = serve_note(HOST, 'carol', 14, text: 'the end of the chain')
    chain = [13, 12, 11].reduce(last) { |quoted, n| serve_carol_quote(n, quoted) }
    start_ingress_scotty('--forward-unhandled', 'ruby')
    deliver_and_wait(quote_create(540, chain, keys: %w[quote]))
    ids = [11, 12, 13].map { |n| status_id(origin_url(HOST, "users/carol/statuses/#{n}")) }
    assert ids.all?, "11, 12 and 13 are stored\n#{@scottys[0].log}"
    assert_nil status_id(last), 'the fourth is past the depth'
    assert_equal [['0', 'f', '', BOB.to_s, CAROL.to_s, ids[0].to_s]], quote_row("#{BOB_URI}/statuses/540"), @scottys[0].log
    # carol quoting carol: self-quotes, accepted and counted
    assert_equal [['1', 'f', '', CAROL.to_s, CAROL.to_s, ids[1].to_s]], quote_row(origin_url(HOST, 'users/carol/statuses/11'))
    assert_equal [['1', 'f', '', CAROL.to_s, CAROL.to_s, ids[2].to_s]], quote_row(origin_url(HOST, 'users/carol/statuses/12'))
    assert_equal [0, 1, 1], ids.map { |id| stat(id, 'quotes_count') }
    assert_equal [['0', 'f', '', CAROL.to_s, '0', '0']], quote_row(origin_url(HOST, 'users/carol/statuses/13'))
    assert_match(/not fetched: .* 3 quoted posts deep/, @scottys[0].log)
    assert_empty scheduled('ActivityPub::RefetchAndVerifyQuoteWorker')
    assert_empty queued('ruby')
  end

  # Announce of another account's quote post: fetched (ingress_fetch_status) and stored
  # with its quote, the quoted post fetched too and the approval accepting it; then
  # the boost.
  def test_a_boost_of_a_fetched_quote_post_stores_and_verifies_its_quote
    start_fixture_origin
    add_origin_account(CAROL, 'carol')
    add_origin_account(4, 'dan')
    quoted = serve_note(HOST, 'dan', 1, text: 'dan says')
    theirs = origin_url(HOST, 'users/carol/statuses/20')
    approval = serve_approval(HOST, 'users/dan/quote_authorizations/20', interacting: theirs, target: quoted,
                                                                        by: origin_url(HOST, 'users/dan'))
    serve_carol_quote(20, quoted, approval: approval)
    start_ingress_scotty('--forward-unhandled', 'ruby')
    deliver_and_wait(announce(595, theirs))
    refute_nil status_id(theirs), @scottys[0].log
    assert_equal 1, count('statuses', "reblog_of_id = #{status_id(theirs)}"), 'the boost'
    assert_equal [['1', 'f', approval, CAROL.to_s, '4', status_id(quoted).to_s]], quote_row(theirs), @scottys[0].log
    assert_equal 1, stat(status_id(quoted), 'quotes_count')
    assert_empty queued('ruby')
    assert_empty retries
  end

  # a quote of a local status: the quoted status is set, the local author decides (QuoteRequest)
  def test_quote_of_a_local_status_stays_pending_with_it
    local = add_alice_status
    start_ingress_scotty
    deliver_and_wait(quote_create(541, ALICE_STATUS_URI, approval: 'https://remote.example/forged'))
    assert_equal [['0', 'f', '', BOB.to_s, ALICE.to_s, local.to_s]], quote_row("#{BOB_URI}/statuses/541"),
                 @scottys[0].log
    assert_equal 0, stat(local, 'quotes_count')
  end

  def test_a_tombstone_quote_is_deleted
    start_ingress_scotty
    deliver_and_wait(quote_create(513, { 'type' => 'Tombstone', 'id' => "#{BOB_URI}/statuses/gone" }, keys: %w[quote]))
    assert_equal [['4', 'f', '', BOB.to_s, '0', '0']], quote_row("#{BOB_URI}/statuses/513"), @scottys[0].log
  end

  def test_a_quote_without_an_http_uri_is_forwarded
    start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(quote_create(512, { 'type' => 'Tombstone' }, keys: %w[quote]))
    assert_equal 1, @redis.llen('queue:ruby_ingress'), @scottys[0].log
  end
end
