# test_ingress_app_redis.rb -- Mastodon's split Redis set-up: Sidekiq on
# SIDEKIQ_REDIS_URL, the application (locks, delete_upon_arrival, home feeds,
# streaming) on REDIS_URL. Jobs and follow-ups stay on Sidekiq's; the rest goes to the
# application's.
require_relative 'ingress_helper'

class IngressAppRedisTest < IngressTest
  def setup
    super
    split = start_app_redis
    add_alice_status
    @scotty = start_ingress_scotty(env: split)
  end

  def test_locks_keys_and_feeds_live_in_the_application_redis
    key = "delete_upon_arrival:#{BOB}:#{NOTE_URI}"
    deliver_and_wait(fixture('create_note_mastodon'))
    id = status_row[0]
    refute_nil id, @scotty.log
    assert_equal 1, queued('default', 'DistributionWorker').size, 'follow-ups go through Sidekiq'
    @app.zadd("feed:home:#{ALICE}", id.to_i, id)
    @redis.zadd("feed:home:#{ALICE}", id.to_i, id)
    deliver_and_wait(fixture('delete_string'))
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}"), @scotty.log
    assert_equal 1, @app.exists(key)
    assert_equal 0, @redis.exists(key)
    assert_nil @app.zscore("feed:home:#{ALICE}", id)
    refute_nil @redis.zscore("feed:home:#{ALICE}", id), 'the Sidekiq Redis holds no feeds'
    assert_match(/application Redis is redis:\/\/127\.0\.0\.1:#{@app_server.port}/, @scotty.log)
  end

  def test_ruby_lock_in_the_application_redis_is_respected
    @app.set("lock:create:#{NOTE_URI}", "#{Time.now}-1", nx: true, px: 900_000)
    deliver(fixture('create_note_mastodon'))
    wait_until(30, 'the retry') { retries.size == 1 }
    assert_equal 'Mastodon::RaceConditionError', retries.first['error_class']
    assert_equal 0, count('statuses', "uri = #{q(NOTE_URI)}")
    assert_empty @redis.keys('lock:*')
  end
end
