# test_ingress_pre45_schema.rb -- a database of Mastodon before 4.5 (no quotes table,
# no statuses.quote_approval_policy, status_stats.quotes_count or
# status_edits.quote_id): a quote post with an interactionPolicy is stored without
# its quote, as Mastodon 4.4 stores it, and so is an edit of it; nothing is retried.
require_relative 'ingress_helper'

class IngressPre45SchemaTest < IngressTest
  def setup
    super
    psql('DROP TABLE IF EXISTS quotes')
    psql('ALTER TABLE statuses DROP COLUMN IF EXISTS quote_approval_policy')
    psql('ALTER TABLE status_stats DROP COLUMN IF EXISTS quotes_count')
    psql('ALTER TABLE status_edits DROP COLUMN IF EXISTS quote_id')
  end

  def test_quote_posts_are_stored_without_their_quote
    add_alice_status
    policy = { 'canQuote' => { 'automaticApproval' => ['https://www.w3.org/ns/activitystreams#Public'] } }
    quote = lambda do |d|
      d['object']['quote'] = ALICE_STATUS_URI
      d['object']['interactionPolicy'] = policy
    end
    start_ingress_scotty
    deliver_and_wait(fixture_with('create_note_mastodon', &quote))
    refute_nil status_row, "the quote post is stored\n#{@scottys[0].log}"
    deliver_and_wait(fixture_with('update_note') do |d|
      quote.call(d)
      d['object']['content'] = '<p>edited quote</p>'
    end)
    assert_match(/edited quote/, status_row[2], @scottys[0].log)
    assert_equal 2, count('status_edits'), 'both versions, without quote_id'
    assert_empty retries, @scottys[0].log
  end
end
