# test_schedules.rb -- `scottyctl schedules` (and the control socket's `schedules`)
# for a running scotty with a schedule: this process's schedules only, each with its
# timing, last run (as sidekiq-scheduler:last_times records it) and next run.
require_relative '../control/control_helper'
require 'time'

class SchedulesTest < ControlTest
  # scottyctl's output for this scotty's socket; it must succeed.
  def ctl_out(*args)
    out, err, st = ctl('-s', @sock, *args)
    assert st.success?, "scottyctl #{args.join(' ')} failed: #{err}"
    out
  end

  def write_config
    write_schedule_config(@dir, <<~YAML)
      tick:
        cron: '*/2 * * * * *'
        class: Scotty::Diag::Mark
        args: ['ticks', 't', 0]
      dead_trim:
        every: ['1h', first_in: '30m']
        class: Scotty::DeadSetTrim
        queue: default
        description: trims the dead set
      media_cleanup:
        cron: '17 4 * * *'
        class: Scotty::MediaCacheCleanup
        enabled: false
      elsewhere:
        every: '1s'
        class: Scotty::Diag::Noop
        queue: other
    YAML
  end

  def test_schedules_with_last_and_next_run
    started = Time.now.to_i
    start_scotty('-C', write_config, '--control', @sock)
    wait_until(20, 'the cron schedule to fire') { @redis.llen('ticks').positive? }
    reply = JSON.parse(ctl_out('--json', 'schedules'))
    assert_equal true, reply['ok']
    list = reply['schedules']
    assert_equal %w[tick dead_trim media_cleanup], list.map { |s| s['name'] },
                 'the schedules of this process, in config order (not the other queue\'s)'
    now = Time.now.to_i
    tick, trim, off = list

    assert_equal ['Scotty::Diag::Mark', 'default', 'cron', '*/2 * * * * *', true],
                 tick.values_at('class', 'queue', 'kind', 'expr', 'enabled')
    recorded = Time.parse(@redis.hget('sidekiq-scheduler:last_times', 'tick')).to_i
    assert_includes [recorded, recorded + 2], tick['last_run'], 'last run is the recorded firing'
    assert_equal 0, tick['last_run'] % 2
    assert_equal 0, tick['next_run'] % 2
    assert_operator tick['next_run'], :>=, now - 1
    assert_operator tick['next_run'], :<=, now + 4

    assert_equal ['Scotty::DeadSetTrim', 'every', '1h', 1800.0, 'trims the dead set', nil],
                 trim.values_at('class', 'kind', 'expr', 'first_in', 'description', 'last_run')
    assert_includes (started + 1799)..(now + 1801), trim['next_run'], 'first run 30 minutes after start'

    assert_equal [false, nil, nil, 'cron', '17 4 * * *'],
                 off.values_at('enabled', 'last_run', 'next_run', 'kind', 'expr')

    table = ctl_out('schedules')
    lines = table.lines
    assert_match(/\ANAME +CLASS +QUEUE +WHEN +LAST RUN \(UTC\) +NEXT RUN \(UTC\) +ENABLED\n\z/, lines[0])
    assert_equal 4, lines.size, table
    assert_match(%r{\Atick +Scotty::Diag::Mark +default +cron \*/2 \* \* \* \* \* +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(\d+\.\ds ago\) +\d{4}-.* yes\n\z},
                 lines[1])
    next_at = Time.at(trim['next_run']).utc.strftime('%Y-%m-%d %H:%M:%S')
    assert_match(/\Adead_trim +Scotty::DeadSetTrim +default +every 1h +- +#{next_at} \(in (29|30)m\d\ds\) +yes\n\z/,
                 lines[2])
    assert_match(/\Amedia_cleanup +Scotty::MediaCacheCleanup +default +cron 17 4 \* \* \* +- +- +no\n\z/, lines[3])

    assert_equal list.map { |x| x['name'] }, request('schedules')['schedules'].map { |x| x['name'] }
  end

  def test_no_schedules
    start_scotty('-q', 'default', '--control', @sock)
    assert_equal [], JSON.parse(ctl_out('--json', 'schedules'))['schedules']
    assert_equal "(no schedules in this process)\n", ctl_out('schedules').lines.last
  end
end
