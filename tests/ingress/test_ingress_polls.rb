# test_ingress_polls.rb -- polls stay with Ruby: a Create or an Update of a Question is
# forwarded unchanged, and so is an Update of a Note whose stored status has a poll
# (Ruby created it), because ActivityPub::ProcessStatusUpdateService#update_poll!
# destroys that poll when the object is no longer a Question, a significant change
# that scotty's native Update does not make.
require_relative 'ingress_helper'

class IngressPollsTest < IngressTest
  def setup
    super
    psql('TRUNCATE polls CASCADE')
  end

  # What Ruby's Create{Question} leaves: a polls row for the status and its poll_id.
  def give_poll(status_id)
    poll = psql("INSERT INTO polls (account_id, status_id, options, cached_tallies, votes_count, voters_count, " \
                "expires_at, created_at, updated_at) VALUES (#{BOB}, #{status_id}, '{Yes,No}', '{3,1}', 4, 4, " \
                "now() + interval '1 day', now(), now()) RETURNING id").lines.first.to_i
    psql("UPDATE statuses SET poll_id = #{poll} WHERE id = #{status_id}")
    poll
  end

  def question(kind)
    fixture_with(kind == 'Create' ? 'create_question' : 'update_note') do |d|
      next if kind == 'Create'

      d['object']['type'] = 'Question'
      d['object']['oneOf'] = [{ 'type' => 'Note', 'name' => 'Yes', 'replies' => { 'type' => 'Collection', 'totalItems' => 5 } },
                              { 'type' => 'Note', 'name' => 'No', 'replies' => { 'type' => 'Collection', 'totalItems' => 1 } }]
      d['object']['votersCount'] = 6
    end
  end

  def test_update_of_a_status_with_a_poll_is_left_to_ruby
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(fixture('create_note_mastodon'))
    id, = status_row
    refute_nil id, scotty.log
    text = status_row[2]
    poll = give_poll(id)
    deliver_and_wait(fixture('update_note'))
    assert_equal 1, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_match(/an Update of a status with a poll/, scotty.log)
    assert_equal text, status_row[2], 'the status is not edited'
    assert_equal 0, count('status_edits')
    assert_equal [[poll.to_s, '{3,1}', '4']], rows("SELECT id, cached_tallies, votes_count FROM polls")
    assert_equal poll.to_s, psql("SELECT poll_id FROM statuses WHERE id = #{id}").strip

    # Updates of the Question itself (new counts, closing) go to Ruby too
    deliver_and_wait(question('Update'))
    assert_equal 2, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_equal [[poll.to_s, '{3,1}', '4']], rows("SELECT id, cached_tallies, votes_count FROM polls")
    assert_equal 2, activity_stats.dig('Update', 'forwarded')

    # without the poll, the same Update is applied here
    psql("UPDATE statuses SET poll_id = NULL WHERE id = #{id}")
    deliver_and_wait(fixture('update_note'))
    assert_equal 2, @redis.llen('queue:ruby_ingress'), scotty.log
    refute_equal text, status_row[2], 'the edit was stored'
    assert_equal 1, activity_stats.dig('Update', 'handled')
  end

  def test_create_of_a_question_is_left_to_ruby
    scotty = start_ingress_scotty('--forward-unhandled', 'ruby_ingress')
    deliver_and_wait(question('Create'))
    assert_equal 1, @redis.llen('queue:ruby_ingress'), scotty.log
    assert_equal 0, count('statuses')
    assert_equal 0, count('polls')
    assert_equal 1, activity_stats.dig('Create', 'forwarded')
  end
end
