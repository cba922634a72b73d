"""Drives the real psql on a pseudo-terminal, so readline's TAB completion runs its
catalog query against switchyard: types `SELECT count(*) FROM llm_req<TAB>;` and
prints what the terminal shows. Standard library only."""
import os
import pty
import select
import sys
import time

host, port = sys.argv[1], sys.argv[2]
pid, fd = pty.fork()
if pid == 0:
    os.environ.update(TERM="dumb", PAGER="cat", PSQL_PAGER="cat")
    os.execvp("psql", ["psql", "-X", "-h", host, "-p", port, "-U", "tester", "-d", "switchyard"])

screen = b""


def read_for(seconds):
    global screen
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                screen += os.read(fd, 4096)
            except OSError:
                return


read_for(2)
os.write(fd, b"SELECT count(*) FROM llm_req\t")
read_for(2)
os.write(fd, b";\n")
read_for(3)
os.write(fd, b"\\q\n")
read_for(1)
os.waitpid(pid, 0)
print(screen.decode(errors="replace"))
