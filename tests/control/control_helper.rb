# control_helper.rb -- shared pieces of the control tests: a scotty with its
# control socket in a private temp dir, raw socket requests and scottyctl runs.
require_relative '../integration/helper'
require 'open3'
require 'socket'

SCOTTYCTL = ENV.fetch('SCOTTYCTL_BIN') { File.expand_path('../../build-test/worker/control/scottyctl', __dir__) }

class ControlTest < ScottyTest
  def setup
    super
    @dir = Dir.mktmpdir('scotty-control')
    File.chmod(0o755, @dir) # others may reach the socket: its own mode must keep them out
    @sock = File.join(@dir, 'ctl.sock')
  end

  def teardown
    super
    FileUtils.rm_rf(@dir)
  end

  # One request line, one parsed reply.
  def request(line, path: @sock)
    UNIXSocket.open(path) do |s|
      s.write(line.end_with?("\n") ? line : "#{line}\n")
      JSON.parse(s.gets || raise(Minitest::Assertion, "no reply to #{line.inspect}"))
    end
  end

  # Runs scottyctl (as another user with user:); returns [stdout, stderr, status].
  # Another user runs a copy in the test's 0755 dir: the build tree may sit in a
  # directory only root can enter (a clone made in `mktemp -d`).
  def ctl(*args, user: nil, env: {})
    return Open3.capture3(env, SCOTTYCTL, *args) unless user

    copy = File.join(@dir, 'scottyctl')
    FileUtils.cp(SCOTTYCTL, copy) unless File.exist?(copy)
    Open3.capture3(env, 'runuser', '-u', user, '--', copy, *args)
  end

  def push(klass, args, n: 1, queue: 'default')
    Sidekiq::Client.push_bulk('class' => klass, 'queue' => queue, 'retry' => false,
                              'args' => Array.new(n) { args })
  end

  def stats
    request('{"cmd":"stats"}')
  end
end
