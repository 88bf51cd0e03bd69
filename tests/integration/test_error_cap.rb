# test_error_cap.rb -- a failing job's error_message is cut as Ruby Sidekiq cuts it
# (exception.message.to_s[0, 10_000]: characters, not bytes). The expected value is what
# the real Ruby Sidekiq stores for the same message, in the same Redis.
require_relative 'helper'

class ErrorCapTest < ScottyTest
  MESSAGE = ('é' * 6000) + ('x' * 9000)

  def retry_entry(jid)
    wait_until(60, "job #{jid} in the retry set") do
      @redis.zrange('retry', 0, -1).map { |j| JSON.parse(j) }.find { |j| j['jid'] == jid }
    end
    @redis.zrange('retry', 0, -1).map { |j| JSON.parse(j) }.find { |j| j['jid'] == jid }
  end

  def test_long_message_cut_at_ten_thousand_characters_as_ruby_does
    start_ruby_sidekiq(<<~RUBY, '-q', 'ruby', '-c', '1')
      require 'sidekiq'
      class LongFailure
        include Sidekiq::Worker
        def perform(message) = raise(message)
      end
    RUBY
    ruby_jid = Sidekiq::Client.push('class' => 'LongFailure', 'queue' => 'ruby', 'args' => [MESSAGE])
    start_scotty('-c', '1')
    scotty_jid = Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => [MESSAGE])
    ruby = retry_entry(ruby_jid)['error_message']
    scotty = retry_entry(scotty_jid)['error_message']
    assert_equal 10_000, ruby.length, 'Ruby keeps 10,000 characters'
    assert_equal ruby, scotty
  end
end
