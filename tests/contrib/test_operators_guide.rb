# test_operators_guide.rb -- the commands docs/operators.md shows, run for real: the
# drop-in's scotty command line against Redis and PostgreSQL (it works exactly the
# queues it names, forwards to the queues the guide names, and a Ruby Sidekiq started
# with the guide's line runs what it forwards), the drop-in under systemd-analyze verify,
# every scottyctl line against that scotty, `scotty db check`, `scotty status` and
# `scotty requeue-private` (--dry-run, --force) as the guide runs them (sourcing the
# environment file), and the filter that copies .env.production's variables.
require_relative '../integration/helper'
require_relative '../lib/pg'
require 'open3'
require 'etc'
require 'shellwords'
require 'net/http'
require 'uri'

GUIDE = File.expand_path('../../docs/operators.md', __dir__)
ENV_EXAMPLE = File.expand_path('../../contrib/scotty.env.example', __dir__)
UNIT = File.expand_path('../../contrib/systemd/scotty-ingress.service', __dir__)

class OperatorsGuideTest < ScottyTest
  include Harness::PG

  def setup
    super
    @dir = Dir.mktmpdir('scotty-guide')
    # `scotty` on the PATH is the binary under test, as /usr/bin/scotty is for the guide.
    @bin = File.join(@dir, 'bin')
    FileUtils.mkdir_p(@bin)
    File.symlink(Harness::SCOTTY, File.join(@bin, 'scotty'))
    File.symlink(ENV.fetch('SCOTTYCTL_BIN'), File.join(@bin, 'scottyctl'))
    @env_file = File.join(@dir, 'scotty.env')
    File.write(@env_file, "REDIS_URL=#{@redis_server.url}\n" + pg_env.map { |k, v| "#{k}=#{v}\n" }.join)
  end

  def teardown
    super
    FileUtils.rm_rf(@dir)
  end

  # [language, text] of every fenced block, continuation lines joined.
  def blocks
    File.read(GUIDE).scan(/^```(\w*)\n(.*?)^```$/m).map { |lang, body| [lang, body.gsub(/\\\n\s*/, ' ')] }
  end

  def sh_lines
    blocks.select { |l, _| l == 'sh' }.flat_map { |_, b| b.lines.map(&:strip) }.reject(&:empty?)
  end

  def exec_starts(program)
    blocks.select { |l, _| l == 'ini' }.flat_map { |_, b| b.lines.map(&:strip) }
          .grep(/^ExecStart=\S*#{program}/).map { |l| l.delete_prefix('ExecStart=') }
  end

  def drop_in
    blocks.find { |l, b| l == 'ini' && b.include?('ExecStart=/usr/bin/scotty') }&.last or flunk 'no scotty drop-in'
  end

  # The drop-in's scotty arguments, with this test's control group and metrics port.
  def worker_args
    lines = exec_starts('/usr/bin/scotty')
    assert_equal 1, lines.size, 'one scotty command line in the drop-in'
    args = Shellwords.split(lines.first).drop(1)
    args[args.index('--control-group') + 1] = Etc.getgrgid(Process.gid).name
    @metrics_port = Harness.free_port
    args[args.index('--metrics-listen') + 1] = "127.0.0.1:#{@metrics_port}"
    args
  end

  def flag_values(args, flag)
    args.each_cons(2).select { |f, _| f == flag }.map(&:last)
  end

  def ruby_sidekiq_lines
    exec_starts('bundle').map { |l| Shellwords.split(l).drop_while { |w| w != 'sidekiq' }.drop(1) }
  end

  # A guide line run as the guide runs it, without sudo, with this test's environment file.
  def run_line(line, stdin: '')
    cmd = line.delete_prefix('sudo ').gsub('/etc/scotty/scotty.env', @env_file)
    env = { 'PATH' => "#{@bin}:#{ENV.fetch('PATH')}", 'ASAN_OPTIONS' => 'detect_leaks=1' }
    out, err, st = Open3.capture3(env, 'sh', '-c', cmd, stdin_data: stdin)
    refute_match(/AddressSanitizer|LeakSanitizer|runtime error:/, err)
    [out, err, st]
  end

  def guide_line(pattern)
    sh_lines.find { |l| l.match?(pattern) } or flunk "the guide has no line matching #{pattern}"
  end

  def info(scotty)
    id = @redis.smembers('processes').find { |i| i.include?(":#{scotty.pid}:") }
    [id, JSON.parse(@redis.hget(id, 'info'))]
  end

  def test_the_drop_in_line_works_its_queues_and_forwards_to_ruby_as_the_guide_says
    args = worker_args
    queues = flag_values(args, '-q').map { |q| q.split(',').first }
    assert_equal %w[push ingress pull], queues
    forwards = flag_values(args, '--forward-unhandled') + flag_values(args, '--forward-unknown')
    assert_equal %w[ingress_ruby pull_ruby], forwards

    s = start_scotty(*args, env: pg_env)
    id, inf = info(s)
    assert_equal queues.sort, inf['queues'].sort, "the heartbeat's queues\n#{s.log}"
    assert_equal flag_values(args, '-g').first, inf['tag']
    assert_match(/^scotty-\d+\.\d+\.\d+ \(Sidekiq \d\)$/, inf['version'], 'what Sidekiq Web shows as the version')
    refute_match(/ERROR/, s.log)
    metrics = nil
    # The control socket and the metrics listener open after the first heartbeat.
    wait_until(20, -> { "the metrics listener\n#{s.log}" }) do
      metrics = Net::HTTP.get(URI("http://127.0.0.1:#{@metrics_port}/metrics"))
    rescue SystemCallError
      false
    end
    assert_match(/^sidekiq_queue_latency_seconds\{queue="ingress"\} /, metrics, 'the query the guide shows')

    # Both Ruby lines listen on every forward queue; after the move, on none of scotty's.
    before, after = ruby_sidekiq_lines
    [before, after].each do |ruby|
      assert_empty forwards - flag_values(ruby, '-q').map { |q| q.split(',').first }, ruby.join(' ')
    end
    assert_empty queues & flag_values(after, '-q').map { |q| q.split(',').first }
    assert_includes flag_values(after, '-q'), 'pull_ruby,6', "the guide gives pull_ruby push's weight"

    # The Ruby Sidekiq of section 6 runs a job of a class scotty does not know, from push.
    marker = "guide-#{rand(1 << 30)}"
    start_ruby_sidekiq(<<~RUBY, *after)
      class GuideForwarded
        include Sidekiq::Worker
        def perform(key) = Sidekiq.redis { |r| r.set(key, 'ran in Ruby') }
      end
    RUBY
    wait_until(60, 'the Ruby Sidekiq heartbeat') do
      @redis.smembers('processes').any? { |p| p != id && @redis.hget(p, 'info')&.include?('pull_ruby') }
    end
    Sidekiq::Client.push('class' => 'GuideForwarded', 'queue' => 'push', 'args' => [marker], 'retry' => false)
    wait_until(60, -> { "Ruby to run the job scotty forwarded\n#{s.log}" }) { @redis.get(marker) == 'ran in Ruby' }
    assert_match(/GuideForwarded.*pull_ruby/, s.log)

    # scottyctl as the guide runs it: it finds the socket in the runtime directory.
    ctl_env = { 'RUNTIME_DIRECTORY' => File.dirname(s.log_path) }
    ctl_lines = sh_lines.grep(/^scottyctl /)
    assert_equal ['scottyctl stats', 'scottyctl queues', 'scottyctl busy', 'scottyctl top'], ctl_lines
    ctl_lines.each do |line|
      out, err, st = Open3.capture3(ctl_env, ENV.fetch('SCOTTYCTL_BIN'), *Shellwords.split(line).drop(1),
                                    stdin_data: 'q')
      assert st.success?, "#{line}: #{err}"
      refute_empty out, line
      assert_match(/ingress/, out, line) if line.end_with?('queues', 'top')
      assert_match(/^QUEUE\s+WEIGHT\s+SIZE\s+LATENCY$/, out, line) if line.end_with?('stats')
    end
    assert s.stop.success?, s.log
  end

  def test_the_drop_in_passes_systemd_analyze_verify
    units = File.join(@dir, 'units')
    FileUtils.mkdir_p(File.join(units, 'scotty-ingress.service.d'))
    File.write(File.join(units, 'scotty-ingress.service'), File.read(UNIT).gsub('/usr/local/bin/scotty', Harness::SCOTTY))
    conf = File.join(units, 'scotty-ingress.service.d', 'migration.conf')
    File.write(conf, drop_in.gsub('/usr/bin/scotty', Harness::SCOTTY))
    out, st = Open3.capture2e({ 'SYSTEMD_UNIT_PATH' => "#{units}:" }, 'systemd-analyze', 'verify',
                              File.join(units, 'scotty-ingress.service'))
    assert st.success?, out
    refute_match(/migration\.conf|scotty-ingress/, out, 'systemd-analyze warns about the unit or the drop-in')
    assert_includes sh_lines, 'sudo systemd-analyze verify scotty-ingress.service'
  end

  def test_status_and_requeue_private_as_the_guide_runs_them
    status = guide_line(/exec scotty status'$/)
    dry = guide_line(/exec scotty requeue-private --dry-run'$/)
    plain = guide_line(/exec scotty requeue-private'$/)
    force = guide_line(/exec scotty requeue-private --force'$/)

    out, err, st = run_line(status)
    assert st.success?, err
    assert_match(/nothing left to requeue/, out)

    # A scotty killed while it runs a job leaves it in its private list.
    Sidekiq::Client.push('class' => 'Scotty::Diag::Hang', 'queue' => 'ingress', 'args' => [600_000])
    s = start_scotty('-c', '1', '-q', 'ingress')
    id, = info(s)
    priv = "queue:scotty|#{id}|ingress"
    wait_until(20, "the job to run\n#{s.log}") { @redis.llen(priv) == 1 && @redis.llen('queue:ingress').zero? }
    s.kill9

    out, err, st = run_line(status)
    assert st.success?, err
    assert_match(/^ingress\s+1\s+alive\s+#{Regexp.escape(id)}\s+#{Regexp.escape(priv)}$/, out,
                 'the killed process still has its heartbeat for up to 60 s')
    out, err, st = run_line(dry)
    assert st.success?, "#{out}\n#{err}"
    assert_equal 1, @redis.llen(priv), 'a dry run moves nothing'
    _, err, st = run_line(plain)
    refute st.success?, 'without --force and without a terminal, a live heartbeat keeps the list'
    assert_match(/still has a heartbeat/, err)
    assert_equal 1, @redis.llen(priv)
    out, err, st = run_line(force)
    assert st.success?, "#{out}\n#{err}"
    assert_equal [0, 1], [@redis.llen(priv), @redis.llen('queue:ingress')]

    # Once the heartbeat is gone (it expires 60 s after the kill), no --force is needed.
    s2 = start_scotty('-c', '1', '-q', 'ingress')
    id2, = info(s2)
    priv2 = "queue:scotty|#{id2}|ingress"
    wait_until(20, "the job to run again\n#{s2.log}") { @redis.llen(priv2) == 1 }
    s2.kill9
    @redis.del(id2)
    out, err, st = run_line(plain)
    assert st.success?, "#{out}\n#{err}"
    assert_equal [0, 1], [@redis.llen(priv2), @redis.llen('queue:ingress')]
    assert_equal ['Scotty::Diag::Hang'], Sidekiq::Queue.new('ingress').map(&:klass)
    out, = run_line(status)
    assert_match(/nothing left to requeue/, out)
  end

  def test_the_environment_filter_and_db_check
    filter = guide_line(%r{\.env\.production > /etc/scotty/scotty\.env"$})
    production = File.join(@dir, '.env.production')
    # A web node's .env.production: what scotty needs, and secrets it must not get.
    File.write(production, <<~ENV)
      LOCAL_DOMAIN=example.social
      SINGLE_USER_MODE=false
      SECRET_KEY_BASE=not-for-scotty
      OTP_SECRET=not-for-scotty
      VAPID_PRIVATE_KEY=not-for-scotty
      VAPID_PUBLIC_KEY=not-for-scotty
      DB_HOST=#{ENV.fetch('DB_HOST')}
      DB_PORT=#{ENV.fetch('DB_PORT')}
      DB_NAME=#{ENV.fetch('DB_NAME')}
      DB_USER=#{ENV.fetch('DB_USER')}
      DB_PASS=
      REDIS_URL=#{@redis_server.url}
      S3_ENABLED=true
      S3_BUCKET=files.example.social
      AWS_ACCESS_KEY_ID=key
      AWS_SECRET_ACCESS_KEY=secret
      S3_ALIAS_HOST=files.example.social
      SMTP_SERVER=smtp.example.social
      SMTP_PASSWORD=not-for-scotty
      ES_ENABLED=false
      ACTIVE_RECORD_ENCRYPTION_PRIMARY_KEY=pk
      ACTIVE_RECORD_ENCRYPTION_KEY_DERIVATION_SALT=salt
      ACTIVE_RECORD_ENCRYPTION_DETERMINISTIC_KEY=dk
      RAILS_ENV=production
    ENV
    out, err, st = run_line(filter.gsub('/home/mastodon/live/.env.production', production))
    assert st.success?, "#{out}\n#{err}"
    copied = File.read(@env_file).lines.map { |l| l.split('=').first }
    refute_empty copied
    assert_empty copied.grep(/SECRET_KEY_BASE|OTP_SECRET|VAPID|SMTP|SINGLE_USER|ES_ENABLED/), copied.join(' ')
    # Every variable the example environment file names passes the filter.
    pattern = Regexp.new(filter[/grep -E '([^']+)'/, 1])
    named = File.read(ENV_EXAMPLE).scan(/^#?([A-Z][A-Z0-9_]+)=/).flatten.uniq
    assert_operator named.size, :>, 20
    assert_empty named.reject { |v| "#{v}=x".match?(pattern) }, 'variables of scotty.env.example the filter drops'

    out, err, st = run_line(guide_line(/exec scotty db check'$/))
    assert st.success?, "scotty db check with the copied environment:\n#{out}\n#{err}"
  end

  def test_install_lines_name_the_package_build_sh_makes
    version = File.read(File.expand_path('../../CMakeLists.txt', __dir__))[/project\(scotty VERSION ([\d.]+)/, 1]
    assert_includes sh_lines, 'contrib/deb/build.sh'
    assert_includes sh_lines.grep(/apt install/).join, "./scotty_#{version}_"
    assert_includes File.read(GUIDE), "`build-pkg/scotty_#{version}_"
  end
end
