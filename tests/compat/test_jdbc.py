#!/usr/bin/env python3
"""pgJDBC (Debian's libpostgresql-jdbc-java, Java 17) against a real `driftdb serve`:
tests/compat/jdbc/JdbcCompat.java, compiled here and run against a server on a free port.

    python3 tests/compat/test_jdbc.py --driftdb .build/release/driftdb
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import test_pgwire  # noqa: E402
from test_pgwire import Server  # noqa: E402

JAR = '/usr/share/java/postgresql.jar'
SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'jdbc', 'JdbcCompat.java')


class JDBC(unittest.TestCase):
    def test_jdbc(self):
        self.assertTrue(os.path.exists(JAR), f'{JAR} is missing (scripts/deps installs libpostgresql-jdbc-java)')
        out = tempfile.mkdtemp(prefix='driftdb-jdbc-')
        self.addCleanup(shutil.rmtree, out, True)
        subprocess.run(['javac', '-d', out, '-cp', JAR, SOURCE], check=True, timeout=300)
        server = Server()
        self.addCleanup(server.remove)
        r = subprocess.run(['java', '-cp', f'{JAR}:{out}', 'JdbcCompat', f'jdbc:postgresql://127.0.0.1:{server.port}/driftdb'],
                           capture_output=True, text=True, timeout=300)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('checks passed', r.stdout)
        print(r.stdout.strip(), flush=True)
        self.assertEqual(server.stop(), 0)


if __name__ == '__main__':
    test_pgwire.main()
