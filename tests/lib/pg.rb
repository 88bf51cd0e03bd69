# pg.rb -- the test's PostgreSQL for the tests, the benchmarks and the demo: psql
# against DB_HOST/DB_PORT/DB_USER/DB_NAME (set by tests/storage/pg_harness.sh; PG_PSQL
# names the client, psql when unset) and SQL string literals. Include it in a test
# class, extend a module with it, or call Harness::PG.psql directly.
require 'open3'

module Harness
  module PG
    extend self

    # psql against the test database: unaligned, tuples only, stopping at an error.
    def psql_command
      [ENV.fetch('PG_PSQL', 'psql'), '-X', '-qAt', '-v', 'ON_ERROR_STOP=1', '-h', ENV.fetch('DB_HOST'),
       '-p', ENV.fetch('DB_PORT'), '-U', ENV.fetch('DB_USER'), '-d', ENV.fetch('DB_NAME')]
    end

    # The output of one statement; raises when psql fails.
    def psql(sql)
      out, err, st = Open3.capture3(*psql_command, '-c', sql)
      raise "psql failed: #{err}\n#{sql}" unless st.success?

      out
    end

    # DB_HOST, DB_PORT, DB_NAME and DB_USER, for the environment of a scotty under test.
    def pg_env
      %w[DB_HOST DB_PORT DB_NAME DB_USER].to_h { |k| [k, ENV.fetch(k)] }
    end

    # Takes the server away or brings it back: action is 'halt', 'resume' or
    # 'restart' (pg_harness.sh; needs PG_DIR, exported by run_with_pg.sh).
    def server(action)
      script = File.expand_path('../storage/pg_harness.sh', __dir__)
      return if system('bash', script, action, ENV.fetch('PG_DIR'), ENV.fetch('DB_PORT'))

      raise "pg_harness.sh #{action} failed"
    end

    # s as an SQL literal; nil is NULL.
    def q(s)
      s.nil? ? 'NULL' : "'#{s.to_s.gsub("'", "''")}'"
    end
  end
end
