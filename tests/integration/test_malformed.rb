# test_malformed.rb -- hostile or broken payloads follow Sidekiq's rules and the
# worker keeps going.
require_relative 'helper'

class MalformedTest < ScottyTest
  def test_broken_payloads
    s = start_scotty('-c', '2', '--no-poller')
    garbage = (0..255).map(&:chr).join.b * 4
    @redis.lpush('queue:default', '{"class": "Scotty::Diag::Noop", "args": [')
    @redis.lpush('queue:default', garbage)
    @redis.lpush('queue:default', '["an", "array"]')
    @redis.lpush('queue:default', '{"args":[],"jid":"000000000000000000000001","retry":true}')
    @redis.lpush('queue:default', '{"class":"Scotty::Diag::Noop","args":"nope","jid":"000000000000000000000002","retry":true}')
    # A NUL outside class, queue and jid is only data: Ruby's JSON.parse reads it and
    # the job runs; the member it marks keeps its NUL byte.
    @redis.lpush('queue:default', '{"class":"Scotty::Diag::Mark","args":["nul","a\u0000b",0],' \
                                  '"jid":"000000000000000000000003","retry":true,"x":"\u0000nul"}')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['big', 'x' * (10 * 1024 * 1024), 0])
    Sidekiq::Client.push('class' => 'Scotty::Diag::Mark', 'args' => ['alive', 'yes', 0])
    wait_until(30, "the good job after the bad ones\n#{s.log}") { @redis.lrange('alive', 0, -1) == ['yes'] }
    wait_until(15, 'the 10 MB job') { @redis.llen('big') == 1 }
    assert_equal 10 * 1024 * 1024, @redis.lindex('big', 0).bytesize

    dead = @redis.zrange('dead', 0, -1)
    assert_equal 3, dead.size, 'unparseable and non-object payloads go to the dead set'
    assert_includes dead, '{"class": "Scotty::Diag::Noop", "args": ['
    assert_includes dead.map(&:b), garbage, 'binary garbage kept byte for byte'
    assert_includes dead, '["an", "array"]'

    retries = Sidekiq::RetrySet.new.to_a.sort_by(&:jid)
    assert_equal %w[000000000000000000000001 000000000000000000000002], retries.map(&:jid)
    # Ruby Sidekiq 6.4.1 (Debian's, run by hand on this job): its constantize calls
    # nil.include?, so NoMethodError "undefined method `include?' for nil:NilClass".
    assert_equal 'NoMethodError', retries[0]['error_class']
    assert_match(/\Aundefined method `include\?' for nil:NilClass/, retries[0]['error_message'])
    assert_equal 'ArgumentError', retries[1]['error_class']
    wait_until(15, 'the job with a NUL in a value to run') { @redis.llen('nul') == 1 }
    assert_equal "a\0b", @redis.lindex('nul', 0), 'its NUL byte kept'
    refute(retries.any? { |r| r.jid == '000000000000000000000003' })
    assert s.alive?
    assert_match(/not valid JSON/, s.log)
  end
end
