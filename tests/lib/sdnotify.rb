# sdnotify.rb -- what systemd's notify socket receives: a Unix datagram socket in a
# temp dir; pass its path as NOTIFY_SOCKET to the process under test.
require 'socket'
require 'tmpdir'
require 'fileutils'

module Harness
  class NotifySocket
    attr_reader :path, :messages

    def initialize
      @dir = Dir.mktmpdir('scotty-notify')
      @path = File.join(@dir, 'notify.sock')
      @socket = Socket.new(:UNIX, :DGRAM)
      @socket.bind(Addrinfo.unix(@path))
      @messages = []
    end

    # Every message received so far (each may hold several NAME=value lines).
    def drain
      loop { @messages << @socket.recv_nonblock(4096) }
    rescue IO::WaitReadable
      @messages
    end

    # The first received line matching re, or nil.
    def line(re)
      drain.flat_map { |m| m.split("\n") }.find { |l| l.match?(re) }
    end

    def close
      @socket.close
      FileUtils.rm_rf(@dir)
    end
  end
end
