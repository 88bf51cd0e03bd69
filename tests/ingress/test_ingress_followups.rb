# test_ingress_followups.rb -- follow-up jobs and side paths of Create and Update:
# MentionResolveWorker for accounts not known here, forward_for_reply
# (RawDistributionWorker) for a signed reply to a local status, a personal-inbox
# delivery of a status already stored (silent mention, FeedInsertWorker), and an
# Update without significant changes.
require_relative 'ingress_helper'

class IngressFollowupsTest < IngressTest
  CAROL = 5

  def setup
    super
    @alice_status = add_alice_status
    @scotty = start_ingress_scotty
  end

  def test_unknown_mention_is_resolved_later
    body = fixture_with('create_note_mastodon') do |d|
      d['object']['tag'] << { 'type' => 'Mention', 'href' => 'https://elsewhere.example/users/dave' }
    end
    deliver_and_wait(body)
    id = status_row[0].to_i
    jobs = @redis.zrange('schedule', 0, -1, with_scores: true)
                 .map { |j, at| [JSON.parse(j), at] }.select { |j, _| j['class'] == 'MentionResolveWorker' }
    assert_equal 1, jobs.size, @scotty.log
    job, at = jobs.first
    assert_equal [id, 'https://elsewhere.example/users/dave', { 'request_id' => nil }], job['args']
    assert_equal 'pull', job['queue']
    assert_equal 7, job['retry']
    assert_includes 25..605, (at - Time.now.to_f).round
    assert_equal [[ALICE.to_s]], rows("SELECT account_id FROM mentions WHERE status_id = #{id}")
  end

  def test_signed_reply_to_a_local_status_is_forwarded_to_its_authors_followers
    body = fixture_with('create_note_mastodon') do |d|
      d['signature'] = { 'type' => 'RsaSignature2017', 'creator' => "#{BOB_URI}#main-key",
                         'created' => '2026-11-24T18:00:00Z', 'signatureValue' => 'c2lnbmVk' }
    end
    deliver_and_wait(body)
    jobs = queued('push', 'ActivityPub::RawDistributionWorker')
    assert_equal 1, jobs.size, @scotty.log
    json, account, excluded = jobs.first['args']
    assert_equal JSON.parse(body), JSON.parse(json)
    assert_equal ALICE, account
    assert_equal ['https://remote.example/inbox'], excluded
  end

  def test_unsigned_reply_is_not_forwarded
    deliver_and_wait(fixture('create_note_mastodon'))
    refute_nil status_row
    assert_empty queued('push', 'ActivityPub::RawDistributionWorker')
  end

  def test_personal_inbox_delivery_of_a_known_status
    psql("INSERT INTO accounts (id, username, domain, uri, created_at, updated_at) " \
         "VALUES (#{CAROL}, 'carol', NULL, NULL, now(), now())")
    psql("INSERT INTO follows (account_id, target_account_id, created_at, updated_at) " \
         "VALUES (#{CAROL}, #{BOB}, now(), now())")
    body = fixture('create_note_mastodon')
    deliver_and_wait(body)
    id = status_row[0]
    deliver_and_wait(body, delivered_to: CAROL)
    assert_equal [[ALICE.to_s, 'f'], [CAROL.to_s, 't']],
                 rows("SELECT account_id, silent FROM mentions WHERE status_id = #{id} ORDER BY account_id")
    assert_equal [[id.to_i, CAROL, 'home']], queued('default', 'FeedInsertWorker').map { |j| j['args'] }
    assert_equal 1, queued('default', 'DistributionWorker').size
    # a third delivery to carol's inbox adds nothing
    deliver_and_wait(body, delivered_to: CAROL)
    assert_equal 1, queued('default', 'FeedInsertWorker').size
  end

  def test_update_without_significant_changes_keeps_edited_at
    deliver_and_wait(fixture('create_note_mastodon'))
    id = status_row[0]
    original = JSON.parse(fixture('create_note_mastodon'))['object']
    body = fixture_with('update_note') do |d|
      d['object']['content'] = original['content']
      d['object']['contentMap'] = original['contentMap']
      d['object']['summary'] = original['summary']
      d['object']['sensitive'] = true
    end
    deliver_and_wait(body)
    row = status_row
    assert_equal '', row[15], "no significant change, no edited_at\n#{@scotty.log}"
    assert_equal 't', row[5], 'sensitive is updated anyway'
    # create_edits! and broadcast_updates! run for significant changes only
    assert_equal 0, count('status_edits', "status_id = #{id}"), 'no version recorded'
    assert_equal 0, queued('default', 'DistributionWorker').count { |j| j['args'] == [id.to_i, { 'update' => true }] }
    assert_equal 1, scheduled('LinkCrawlWorker').size, 'no new link crawl'
  end
end
