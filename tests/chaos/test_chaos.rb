# test_chaos.rb -- fault injection: two scotty processes ingest 600 distinct text
# Create{Note} activities (the ActivityPub::ProcessingWorker jobs Mastodon's inbox
# controller pushes, in bursts of 50) while one of them is killed with SIGKILL five
# times (and started again each time), Redis is restarted once (AOF, appendfsync
# always) and PostgreSQL once, each fault while jobs are held. When no ingress job
# is left anywhere, it checks: exactly one status per URI (and each author's
# statuses_count counts each once), each with its follow-up jobs (DistributionWorker
# in `default`, LinkCrawlWorker in `schedule` or `pull`, the status id first in
# their args), nothing in any `queue:scotty|*` private list and nothing in the dead
# set. Timeouts only guard against a hang; no assertion is about speed. A failure
# lists the URIs concerned and, for a missing follow-up, the faults its job was held at.
require_relative '../ingress/ingress_helper'
require_relative '../lib/fediverse'
require 'open3'

class ChaosTest < IngressTest
  NOTES = 600
  BURST = 50
  AUTHORS = { BOB => 'bob', 3 => 'carol', 4 => 'dave', 5 => 'erin' }.freeze
  # The fault injected while burst i is being worked on: [:kill, process slot],
  # [:redis] or [:postgres].
  FAULTS = { 1 => [:kill, 0], 3 => [:kill, 1], 4 => [:redis], 6 => [:kill, 0], 7 => [:postgres],
             9 => [:kill, 1], 11 => [:kill, 0] }.freeze
  DRAIN_TIMEOUT = 100 # s, failure guard: retries of jobs failed in the outages run within it
  SCOTTY_ARGS = %w[-c 4 -q ingress --no-job-log --poll-interval 1 --media-defer pull].freeze
  SHOWN = 60 # URIs listed per kind of problem

  def setup
    @redis_server = Harness::RedisServer.new('--appendonly', 'yes', '--appendfsync', 'always')
    @redis = @redis_server.client
    @scottys = []
    configure_sidekiq
    psql("TRUNCATE #{TABLES.join(', ')} CASCADE")
    Fediverse.add_local_account(ALICE, 'alice')
    AUTHORS.each { |id, name| add_remote(id, name, followed_by: ALICE) }
    @pg_dir = File.dirname(psql('SHOW data_directory').strip)
    @identities = {}
    @events = []
    @held_at = Hash.new { |h, k| h[k] = [] } # uri => the faults its job was held at
  end

  def configure_sidekiq
    Sidekiq.configure_client { |c| c.redis = { url: @redis_server.url } }
    Sidekiq.logger.level = Logger::WARN
  end

  def test_kills_and_restarts_lose_and_duplicate_nothing
    t0 = now
    @workers = [start_worker, start_worker]
    uris = []
    (NOTES / BURST).times do |burst|
      jobs = Array.new(BURST) do
        n = uris.size
        author = AUTHORS.keys[n % AUTHORS.size]
        uris << "https://remote.example/users/#{AUTHORS[author]}/statuses/#{114_000_000_000_000_000 + n}"
        Fediverse.processing_job(author, create_note(author, uris.last, n))
      end
      # one round trip, so the burst is a backlog the fault can hit
      Sidekiq::Client.push_bulk(jobs.first.merge('args' => jobs.map { |j| j['args'] }))
      inject(*FAULTS[burst]) if FAULTS[burst]
      soft_wait(30) { @redis.llen('queue:ingress').zero? } # pacing only
    end
    drained = soft_wait(DRAIN_TIMEOUT, 0.2) { ingress_jobs_left.zero? }
    @events << format('%s after %.0f s', drained ? 'drained' : "NOT drained within #{DRAIN_TIMEOUT} s", now - t0)
    report = problems(uris, drained)
    puts "chaos: #{@events.join('; ')}"
    assert report.empty?, "#{report.join("\n")}\n\nfaults: #{@events.join('; ')}\n#{log_summary}"
  end

  # A text-only Create{Note} as Mastodon sends it, public, published now (inside
  # the realtime window, so DistributionWorker is due).
  def create_note(author, uri, n)
    actor = "https://remote.example/users/#{AUTHORS[author]}"
    published = Time.now.utc.strftime('%Y-%m-%dT%H:%M:%SZ')
    to = ['https://www.w3.org/ns/activitystreams#Public']
    cc = ["#{actor}/followers"]
    { '@context' => 'https://www.w3.org/ns/activitystreams', 'id' => "#{uri}/activity",
      'type' => 'Create', 'actor' => actor, 'published' => published, 'to' => to, 'cc' => cc,
      'object' => { 'id' => uri, 'type' => 'Note', 'summary' => nil, 'inReplyTo' => nil,
                    'published' => published, 'url' => uri.sub('/users/', '/@').sub('/statuses', ''),
                    'attributedTo' => actor, 'to' => to, 'cc' => cc, 'sensitive' => false,
                    'content' => "<p>chaos note #{n}</p>" } }
  end

  def start_worker
    s = start_scotty(*SCOTTY_ARGS, env: db_env)
    @identities[s] = @redis.smembers('processes').find { |i| i.include?(":#{s.pid}:") }
    s
  end

  def inject(kind, slot = nil)
    # Hit the run while jobs are in flight when the burst allows it.
    soft_wait(5) { kind == :kill ? held(@identities[@workers[slot]]).positive? : held.positive? }
    note_held(kind == :redis ? 'the Redis restart' : 'the PostgreSQL restart') unless kind == :kill
    case kind
    when :kill then kill_and_restart(slot)
    when :redis then restart_redis
    when :postgres then restart_postgres
    end
  end

  # kill -9, then the 60 s heartbeat expiry done at once (as test_reliability.rb's
  # expire_heartbeat), then a new process, whose start-up recovers the private lists.
  def kill_and_restart(slot)
    victim = @workers[slot]
    id = @identities[victim]
    victim.kill9
    held_jobs = held(id)
    note_held("the kill of #{id}", id)
    @redis.del(id)
    @events << "kill -9 #{id} holding #{held_jobs}"
    @workers[slot] = start_worker
  end

  def restart_redis
    @events << "Redis restart with #{held} jobs held"
    @redis.close
    @redis_server.stop
    sleep 2
    @redis_server.start
    @redis = @redis_server.client
    configure_sidekiq
  end

  def restart_postgres
    @events << "PostgreSQL restart with #{held} jobs held"
    pg_ctl('stop')
    sleep 3
    pg_ctl('start')
  end

  def pg_ctl(cmd)
    out, st = Open3.capture2e(File.join(__dir__, 'pg_ctl.sh'), cmd, @pg_dir)
    assert st.success?, "pg_ctl.sh #{cmd} failed: #{out}"
  end

  # Records which URIs' jobs sat in private lists (of one identity, or all) at a fault.
  def note_held(fault, id = nil)
    @redis.keys(id ? "queue:scotty|#{id}|*" : 'queue:scotty|*').each do |k|
      @redis.lrange(k, 0, -1).each { |j| (u = uri_of(JSON.parse(j))) && @held_at[u] << fault }
    end
  end

  # Jobs in private lists (of one identity, or all).
  def held(id = nil)
    @redis.keys(id ? "queue:scotty|#{id}|*" : 'queue:scotty|*').sum { |k| @redis.llen(k) }
  end

  # ActivityPub::ProcessingWorker jobs still to run: queued, held, to be retried or scheduled.
  def ingress_jobs_left
    %w[retry schedule].sum do |set|
      @redis.zrange(set, 0, -1).count { |j| j.include?('"class":"ActivityPub::ProcessingWorker"') }
    end + @redis.llen('queue:ingress') + held
  end

  # Waits until the block is true; false after seconds (the caller decides).
  def soft_wait(seconds, interval = 0.01)
    deadline = now + seconds
    until yield
      return false if now > deadline

      sleep interval
    end
    true
  end

  def now = Process.clock_gettime(Process::CLOCK_MONOTONIC)

  # Every broken promise, one line per kind with the URIs concerned.
  def problems(uris, drained)
    ids = rows("SELECT uri, id FROM statuses WHERE uri LIKE 'https://remote.example/users/%'")
    per_uri = ids.group_by(&:first)
    out = []
    dup = per_uri.select { |_, r| r.size > 1 }.keys
    out << listed("#{dup.size} URIs with more than one status", dup)
    missing = uris - per_uri.keys
    out << listed("#{missing.size} URIs without a status (where their job is)",
                  missing.map { |u| "#{u}: #{whereabouts[u] || 'in no queue, set or list'}" })
    stray = per_uri.keys - uris
    out << listed("#{stray.size} statuses for URIs never delivered", stray)
    counts = rows('SELECT a.id, coalesce(st.statuses_count, 0), (SELECT count(*) FROM statuses s ' \
                  'WHERE s.account_id = a.id) FROM accounts a LEFT JOIN account_stats st ON st.account_id = a.id ' \
                  "WHERE a.id IN (#{AUTHORS.keys.join(',')})")
    off = counts.reject { |_, counted, real| counted == real }
    out << listed("#{off.size} authors whose account_stats.statuses_count is not their number of statuses",
                  off.map { |id, counted, real| "account #{id}: statuses_count #{counted}, statuses #{real}" })
    out.concat(followup_problems(per_uri.transform_values { |r| r.first[1].to_i }.slice(*uris)))
    left = @redis.keys('queue:scotty|*').to_h { |k| [k, @redis.llen(k)] }.select { |_, n| n.positive? }
    out << listed("#{left.values.sum} jobs left in private lists", left.map { |k, n| "#{k}: #{n}" })
    dead = @redis.zrange('dead', 0, -1).map { |j| JSON.parse(j) }
    out << listed("#{dead.size} dead jobs", dead.map { |j| "#{j['class']} #{uri_of(j)}: #{j['error_message']}" })
    out << "the ingress jobs did not drain within #{DRAIN_TIMEOUT} s (#{ingress_jobs_left} left)" unless drained
    out.compact
  end

  # DistributionWorker (queue:default) and LinkCrawlWorker (schedule, or queue:pull
  # once due) with args[0] = the status id: exactly one of each per status, and none
  # for a status that does not exist.
  def followup_problems(status_ids)
    jobs = { 'DistributionWorker' => queued('default', 'DistributionWorker'),
             'LinkCrawlWorker' => scheduled('LinkCrawlWorker') + queued('pull', 'LinkCrawlWorker') }
    known = status_ids.values.to_h { |id| [id, true] }
    jobs.flat_map do |klass, list|
      n = Hash.new(0)
      list.each { |j| n[j['args'][0]] += 1 }
      lacking = status_ids.select { |_, id| n[id].zero? }
      extra = status_ids.select { |_, id| n[id] > 1 }
      orphans = n.keys.reject { |id| known[id] }
      [listed("#{lacking.size} statuses without their #{klass}",
              lacking.map { |u, id| "#{u} (status #{id}): #{push_failure(klass, id)}#{held_note(u)}" }),
       listed("#{extra.size} statuses with more than one #{klass}",
              extra.map { |u, id| "#{u} (status #{id}): #{n[id]}" }),
       listed("#{orphans.size} #{klass} jobs for a status id that does not exist", orphans)]
    end
  end

  # The log line of a follow-up push that failed.
  def push_failure(klass, id)
    @logs ||= @scottys.map(&:log).join("\n")
    line = @logs[/ingress: could not push #{klass} \[#{id}[,\]].*/]
    line ? line.sub(/.*?: could not push #{klass} /, 'logged: could not push ') : 'no "could not push" line in any log'
  end

  def held_note(uri)
    @held_at.key?(uri) ? "; its job was held at #{@held_at[uri].join(', ')}" : '; its job was held at no fault'
  end

  # uri => where its ProcessingWorker job is, for the URIs without a status.
  def whereabouts
    @whereabouts ||= begin
      w = {}
      note = ->(raw, place) { (u = uri_of(JSON.parse(raw))) && (w[u] ||= place.call(JSON.parse(raw))) }
      @redis.lrange('queue:ingress', 0, -1).each { |j| note.call(j, ->(_) { 'queued in ingress' }) }
      @redis.keys('queue:scotty|*').each do |k|
        @redis.lrange(k, 0, -1).each { |j| note.call(j, ->(_) { "held in #{k}" }) }
      end
      %w[retry dead schedule].each do |set|
        @redis.zrange(set, 0, -1).each do |j|
          note.call(j, ->(d) { "in #{set}: #{d['error_class']}: #{d['error_message']}" })
        end
      end
      w
    end
  end

  def uri_of(job)
    return nil unless job['class'] == 'ActivityPub::ProcessingWorker'

    JSON.parse(job['args'][1]).dig('object', 'id')
  rescue JSON::ParserError, TypeError
    nil
  end

  def listed(title, items)
    return nil if items.empty?

    more = items.size > SHOWN ? "\n  ... and #{items.size - SHOWN} more" : ''
    "#{title}:\n  #{items.first(SHOWN).join("\n  ")}#{more}"
  end

  # What the scotty logs say about the faults, for the failure message.
  def log_summary
    logs = @scottys.map(&:log).join("\n")
    counts = { 'follow-ups not pushed' => /ingress: could not push/, 'RaceConditionError' => /RaceConditionError/,
               'recoveries' => /died holding jobs/, 'retries scheduled' => /retry scheduled/ }
    lines = counts.map { |what, re| "#{what}: #{logs.scan(re).size}" }
    locks = @redis.keys('lock:create:*').size
    "scotty logs: #{lines.join(', ')}; lock:create keys left: #{locks}\n" \
      "last lines of each scotty log:\n" +
      @scottys.map { |s| "--- pid #{s.pid}\n#{s.log.lines.last(6).join}" }.join
  end
end
