# test_top.rb -- `scottyctl top` in a real terminal (a private tmux server):
# it shows the process's stats and a running Scotty::Diag::Sleep job with its
# progress bar, refreshes, and quits on q.
require_relative 'control_helper'

class ControlTopTest < ControlTest
  def setup
    super
    @tmux = ['tmux', '-L', "scotty-top-#{Process.pid}"]
  end

  def teardown
    system(*@tmux, 'kill-server', err: File::NULL)
    super
  end

  def screen
    out, = Open3.capture2(*@tmux, 'capture-pane', '-p', '-t', 'top')
    out
  end

  def test_top_shows_running_job_with_progress
    start_scotty('-c', '2', '-t', '1', '-g', 'toptest', '--control', @sock)
    jid = push('Scotty::Diag::Sleep', [30_000]).first
    assert system(*@tmux, 'new-session', '-d', '-s', 'top', '-x', '160', '-y', '40',
                  "#{SCOTTYCTL} -s #{@sock} top"), 'tmux could not start'
    wait_until(20, "top to show the running job with a progress bar\n#{screen}") do
      screen =~ /^\S+ +#{jid} +Scotty::Diag::Sleep +default +\S+ +\[#+ *\] +\d+%/
    end
    text = screen
    assert_match(/^scottyctl top  \d\d:\d\d:\d\d  1 process/, text)
    assert_match(/busy 1 of 2/, text)
    assert_match(/^default +0 +0 /, text)
    # It refreshes: the elapsed time of the job changes on screen.
    first = text[/#{jid} +Scotty::Diag::Sleep +default +(\S+)/, 1]
    wait_until(10, 'top to refresh') { screen[/#{jid} +Scotty::Diag::Sleep +default +(\S+)/, 1] != first }

    system(*@tmux, 'send-keys', '-t', 'top', 'q')
    wait_until(10, 'top to quit on q') { !system(*@tmux, 'has-session', '-t', 'top', err: File::NULL) }
  end
end
