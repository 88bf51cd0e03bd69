# test_log_format.rb -- `--log-format json`: every line scotty writes in a short run
# (start, jobs done and failed, a failure message with quotes, a backslash and a
# newline, debug lines, the stop) is one JSON object with the text log's fields, for
# journald, Loki and other collectors; a wrong value is refused.
require_relative 'helper'
require 'open3'
require 'time'

class LogFormatTest < ScottyTest
  def test_every_line_is_a_json_object
    s = start_scotty('-c', '2', '-v', '--log-format', 'json')
    Sidekiq::Client.push('class' => 'Scotty::Diag::Noop', 'args' => [])
    Sidekiq::Client.push('class' => 'Scotty::Diag::Fail', 'args' => ["say \"no\" \\ then\nmore"])
    Sidekiq::Client.push('class' => 'Scotty::Diag::Sleep', 'args' => [50])
    wait_until(30, "the three jobs to finish\n#{s.log}") { Sidekiq::Stats.new.processed >= 3 }
    assert s.stop.success?, s.log

    lines = s.log.lines
    assert_operator lines.size, :>=, 5
    records = lines.map do |l|
      assert l.end_with?("\n"), "a whole line: #{l.inspect}"
      JSON.parse(l)
    rescue JSON::ParserError => e
      flunk "not a JSON line (#{e.message}): #{l.inspect}"
    end
    records.each do |r|
      assert_equal %w[level message pid time], r.keys.sort, r.inspect
      assert_equal s.pid, r['pid']
      assert_includes %w[DEBUG INFO WARN ERROR], r['level']
      assert_match(/\A\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\z/, r['time'])
      assert_in_delta Time.now.to_f, Time.iso8601(r['time']).to_f, 600
      assert_kind_of String, r['message']
    end
    messages = records.map { |r| r['message'] }
    assert(messages.any? { |m| m.start_with?('scotty ') && m.include?(' started as ') }, messages.inspect)
    assert(records.any? { |r| r['level'] == 'DEBUG' }, 'the -v lines too')
    fail_line = records.find { |r| r['message'].match?(/class=Scotty::Diag::Fail .* fail: /) }
    refute_nil fail_line, messages.inspect
    assert_equal 'WARN', fail_line['level']
    assert_includes fail_line['message'], "RuntimeError: say \"no\" \\ then\nmore"
  end

  def test_wrong_value_is_refused
    out, st = Open3.capture2e({ 'REDIS_URL' => @redis_server.url }, Harness::SCOTTY, '--log-format', 'xml')
    assert_equal 2, st.exitstatus
    assert_match(/--log-format must be 'text' or 'json' \(got 'xml'\)/, out)
  end
end
