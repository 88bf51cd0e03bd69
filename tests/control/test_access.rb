# test_access.rb -- who may use the control socket and which file it is: 0660,
# another uid refused (by the file mode and, when the mode is loosened, by
# SO_PEERCRED), --control-group members admitted, a stale socket replaced, a
# live one never stolen, the default path under $RUNTIME_DIRECTORY found by
# scottyctl without -s.
require_relative 'control_helper'
require 'etc'

class ControlAccessTest < ControlTest
  def test_other_uid_is_refused
    s = start_scotty('-c', '1', '--control', @sock)
    st = File.stat(@sock)
    assert st.socket?
    assert_equal [0o660, Process.euid], [st.mode & 0o777, st.uid]

    _, err, cst = ctl('-s', @sock, 'stats', user: 'nobody')
    refute cst.success?, 'nobody could use the socket'
    assert_match(/Permission denied/, err)

    # With the file mode loosened, the peer check still refuses.
    File.chmod(0o666, @sock)
    _, err, cst = ctl('-s', @sock, 'stats', user: 'nobody')
    refute cst.success?, 'nobody passed the SO_PEERCRED check'
    assert_match(/permission denied: uid #{Etc.getpwnam('nobody').uid} is neither root/, err)
    wait_until(10, 'the refusal in the log') { s.log.include?('control: refused a client') }
    assert_equal true, stats['ok'], 'root is refused after a refused client'
  end

  def test_control_group_members_are_admitted
    group = Etc.getgrgid(Etc.getpwnam('nobody').gid)
    start_scotty('-c', '1', '--control', @sock, '--control-group', group.name)
    st = File.stat(@sock)
    assert_equal [0o660, group.gid], [st.mode & 0o777, st.gid]
    out, err, cst = ctl('-s', @sock, '--json', 'stats', user: 'nobody')
    assert cst.success?, "a member of #{group.name} was refused: #{err}"
    assert_equal 1, JSON.parse(out)['concurrency']
  end

  def test_stale_socket_replaced_live_socket_kept
    # A socket file nobody listens on any more, as a killed process leaves it.
    UNIXServer.new(@sock).close
    assert File.socket?(@sock)
    # and the temporary name a start-up killed between its bind and rename leaves
    UNIXServer.new("#{@sock}.new").close
    s = start_scotty('-c', '1', '--control', @sock)
    # the stale file already passed start_scotty's wait for the socket; the log line
    # says when it was replaced (INFO lines reach the log from a writer thread)
    wait_until(10, "the stale socket to be replaced\n#{s.log}") do
      s.log.match?(/replaced the stale socket #{Regexp.escape(@sock)}/)
    end
    assert_equal true, stats['ok']
    refute File.exist?("#{@sock}.new"), 'the socket is bound under a temporary name, then renamed'

    second = Harness::Scotty.new(@redis_server.url, '-c', '1', '--control', @sock)
    @scottys << second
    refute second.wait(30).success?, 'a second scotty started on a live socket'
    assert_match(/another live process owns the control socket/, second.log)
    assert_equal s.pid, stats['identity'].split(':')[-2].to_i, 'the live socket was taken over'

    file = File.join(@dir, 'plain-file')
    File.write(file, 'not a socket')
    third = Harness::Scotty.new(@redis_server.url, '-c', '1', '--control', file)
    @scottys << third
    refute third.wait(30).success?
    assert_match(/exists and is not a socket/, third.log)
    assert_equal 'not a socket', File.read(file)
  end

  def test_default_path_and_discovery
    env = { 'RUNTIME_DIRECTORY' => @dir }
    a = start_scotty('-c', '1', '-g', 'web/1', env: env)
    b = start_scotty('-c', '2', env: env)
    paths = [File.join(@dir, 'scotty-web_1.sock'), File.join(@dir, "scotty-#{b.pid}.sock")]
    # the socket opens after the first heartbeat, which is all start_scotty waits for here
    paths.each { |p| wait_until(20, -> { "a socket at #{p}: #{Dir.children(@dir)}" }) { File.socket?(p) } }
    out, err, cst = ctl('--json', 'stats', env: env)
    assert cst.success?, err
    replies = out.lines.map { |l| JSON.parse(l) }
    assert_equal [1, 2], replies.map { |r| r['concurrency'] }.sort
    assert_equal [a.pid, b.pid].sort, replies.map { |r| r['identity'].split(':')[-2].to_i }.sort
    out, err, cst = ctl('busy', env: env)
    assert cst.success?, err
    paths.each { |p| assert_includes out, "== #{p}" }

    _, err, cst = ctl('stats', env: { 'RUNTIME_DIRECTORY' => File.join(@dir, 'empty') })
    refute cst.success?
    assert_match(/no scotty control socket found/, err)
  end
end
