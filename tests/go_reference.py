"""A slow, obviously-correct Go under strict Tromp-Taylor rules (shared/rules/go.md), for differential tests.

Written from the rules text alone, independently of ``envs/go``: plain lists, flood fills, and the set of
every colouring of the game (as tuples) for positional superko. Points are ``row * n + col`` (row 0 at the
top); the pass is ``n * n``. Black = 1 moves first, White = 2.
"""

from __future__ import annotations

EMPTY, BLACK, WHITE = 0, 1, 2


class ReferenceGo:
    def __init__(self, n: int, komi: float = 7.5, max_moves: int | None = None):
        self.n = n
        self.komi = komi
        self.max_moves = 2 * n * n if max_moves is None else max_moves
        self.board = [EMPTY] * (n * n)
        self.to_play = BLACK
        self.history = {tuple(self.board)}  # every colouring so far, the empty start included
        self.colourings = [tuple(self.board)]  # colouring after each turn (index = turn count)
        self.consecutive_passes = 0
        self.turns = 0
        self.over = False
        self.truncated = False

    def neighbours(self, p: int) -> list[int]:
        r, c = divmod(p, self.n)
        out = []
        for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1)):
            if 0 <= rr < self.n and 0 <= cc < self.n:
                out.append(rr * self.n + cc)
        return out

    def reaches(self, board: list[int], p: int, colour: int) -> bool:
        """Rule 2: a path of points of p's colour leads from p to a point of ``colour``."""
        own = board[p]
        seen = {p}
        todo = [p]
        while todo:
            q = todo.pop()
            for r in self.neighbours(q):
                if board[r] == colour:
                    return True
                if board[r] == own and r not in seen:
                    seen.add(r)
                    todo.append(r)
        return False

    def group(self, board: list[int], p: int) -> set[int]:
        """The points connected to ``p`` through points of ``p``'s colour (``p`` included)."""
        seen = {p}
        todo = [p]
        while todo:
            q = todo.pop()
            for r in self.neighbours(q):
                if board[r] == board[p] and r not in seen:
                    seen.add(r)
                    todo.append(r)
        return seen

    def clear(self, board: list[int], colour: int) -> None:
        """Rule 3: empty every point of ``colour`` that does not reach empty (a group reaches it or not)."""
        done: set[int] = set()
        for p in range(len(board)):
            if board[p] == colour and p not in done:
                group = self.group(board, p)
                done |= group
                if not self.reaches(board, p, EMPTY):
                    for q in group:
                        board[q] = EMPTY

    def result_of(self, p: int) -> list[int] | None:
        """The colouring after the mover plays on ``p`` (rule 4), or None when ``p`` is occupied."""
        if self.board[p] != EMPTY:
            return None
        board = list(self.board)
        board[p] = self.to_play
        self.clear(board, 3 - self.to_play)
        self.clear(board, self.to_play)
        return board

    def legal(self, action: int) -> bool:
        if self.over:
            return False
        if action == self.n * self.n:
            return True
        board = self.result_of(action)
        return board is not None and tuple(board) not in self.history

    def legal_mask(self) -> list[bool]:
        return [self.legal(a) for a in range(self.n * self.n + 1)]

    def play(self, action: int) -> None:
        assert self.legal(action), action
        if action == self.n * self.n:
            self.consecutive_passes += 1
        else:
            self.board = self.result_of(action)
            self.history.add(tuple(self.board))
            self.consecutive_passes = 0
        self.colourings.append(tuple(self.board))
        self.to_play = 3 - self.to_play
        self.turns += 1
        if self.consecutive_passes == 2:
            self.over = True
        elif self.turns >= self.max_moves:
            self.over = True
            self.truncated = True

    def area(self) -> tuple[int, int]:
        """Rule 7: stones plus empty points that reach only that colour."""
        black = white = 0
        for p, v in enumerate(self.board):
            if v == BLACK or (
                v == EMPTY and self.reaches(self.board, p, BLACK) and not self.reaches(self.board, p, WHITE)
            ):
                black += 1
            elif v == WHITE or (
                v == EMPTY and self.reaches(self.board, p, WHITE) and not self.reaches(self.board, p, BLACK)
            ):
                white += 1
        return black, white

    def score(self) -> float:
        black, white = self.area()
        return black - white - self.komi
