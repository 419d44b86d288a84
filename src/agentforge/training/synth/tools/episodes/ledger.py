"""A bank ledger: accounts, balances, transfers and their history."""

from __future__ import annotations

import random

from agentforge.training.synth.tools.episodes.base import ToolEnv, ToolError, integer, number, string, tool
from agentforge.training.synth.tools.episodes.episode import Episode, failed
from agentforge.training.synth.tools.episodes.words import choose, date, money, num

_LABELS = ("checking", "savings", "travel fund", "rent", "joint", "emergency fund", "business", "holiday pot",
           "household", "car loan", "pension top-up", "gifts", "main", "side hustle")
_MERCHANTS = ("Grocer's Market", "City Power", "Bean There Café", "RailPass", "BookNook", "Pharmacy Plus", "Gym Hub",
              "StreamFlix", "Corner Bakery", "AquaWorks Water", "Fuel Stop 24", "PetPals", "CloudDrive", "Taxi Nova")


class Ledger(ToolEnv):
    NAME = "ledger"

    @classmethod
    def random(cls, rng: random.Random, accounts: int = 3) -> "Ledger":
        labels = rng.sample(_LABELS, accounts)
        ids = rng.sample(range(1000, 9999), accounts)
        state = {"currency": rng.choice(("USD", "EUR", "GBP")), "today": date(rng)[:8] + "28", "next_tx": rng.randint(1000, 8000),
                 "accounts": {}, "history": {}}
        for label, n in zip(labels, ids):
            acc = f"ACC-{n}"
            state["accounts"][acc] = {"label": label, "cents": rng.randint(2, 4000) * 100 + rng.choice((0, 25, 50, 99))}
            state["history"][acc] = [
                {"date": f"{state['today'][:8]}{d:02d}", "amount": -rng.randint(300, 9000) / 100,
                 "description": rng.choice(_MERCHANTS)}
                for d in sorted(rng.sample(range(1, 28), 4))
            ]
        return cls(state)

    def _account(self, account_id: str) -> dict:
        if account_id not in self.state["accounts"]:
            raise ToolError(f"no account with id '{account_id}'")
        return self.state["accounts"][account_id]

    def _view(self, account_id: str) -> dict:
        a = self._account(account_id)
        return {"account_id": account_id, "label": a["label"], "balance": a["cents"] / 100}

    @tool("List the user's accounts with ids, labels and balances.",
          names=("list_accounts", "get_my_accounts", "accountsOverview"))
    def list_accounts(self) -> dict:
        return {"accounts": [self._view(a) for a in self.state["accounts"]], "currency": self.state["currency"]}

    @tool("Get the current balance of one account.", names=("account_balance", "check_balance", "getBalance"),
          required=("account_id",), account_id=string("Account id, e.g. ACC-1234"))
    def account_balance(self, account_id: str) -> dict:
        return {**self._view(account_id), "currency": self.state["currency"]}

    @tool("Transfer money between two of the user's accounts.",
          names=("transfer_funds", "move_money", "sendInternalTransfer"), required=("from_account", "to_account", "amount"),
          from_account=string("Account id to debit"), to_account=string("Account id to credit"),
          amount=number("Amount to move", minimum=0.01), memo=string("Note for both histories"))
    def transfer_funds(self, from_account: str, to_account: str, amount: float, memo: str = "") -> dict:
        src, dst = self._account(from_account), self._account(to_account)
        if from_account == to_account:
            raise ToolError("from_account and to_account must differ")
        cents = round(amount * 100)
        cur = self.state["currency"]
        if cents > src["cents"]:
            raise ToolError(f"insufficient funds: {from_account} has {src['cents'] / 100:.2f} {cur} available, "
                            f"the transfer needs {cents / 100:.2f} {cur}")
        src["cents"] -= cents
        dst["cents"] += cents
        tx = f"TX-{self.state['next_tx']}"
        self.state["next_tx"] += 1
        note = memo or f"Transfer {from_account} -> {to_account}"
        for acc, sign in ((from_account, -1), (to_account, 1)):
            self.state["history"][acc].append({"date": self.state["today"], "amount": sign * cents / 100, "description": note})
        return {"transaction_id": tx, "amount": cents / 100, "from_balance": src["cents"] / 100,
                "to_balance": dst["cents"] / 100}

    @tool("Most recent transactions of an account, newest first.",
          names=("transaction_history", "list_transactions", "recentActivity"), required=("account_id",),
          account_id=string("Account id"), limit=integer("How many to return", minimum=1, default=5))
    def transaction_history(self, account_id: str, limit: int = 5) -> dict:
        self._account(account_id)
        return {"transactions": self.state["history"][account_id][::-1][:limit]}

    @tool("Give an account a new label.", names=("rename_account", "set_account_label"),
          required=("account_id", "label"), account_id=string("Account id"), label=string("New label"))
    def rename_account(self, account_id: str, label: str) -> dict:
        self._account(account_id)["label"] = label
        return {"account_id": account_id, "label": label}


def _by_label(accounts: list[dict], label: str) -> str:
    return next(a["account_id"] for a in accounts if a["label"] == label)


def balances(rng: random.Random) -> tuple[Episode, bool]:
    env = Ledger.random(rng)
    a, b = rng.sample(list(env.state["accounts"]), 2)
    ep = Episode(env, rng, ["account_balance"])
    ep.user(choose(rng, f"What's the balance on {a} and {b}?", f"How much money is in accounts {a} and {b}?",
                   f"check balances for {a} & {b} please", f"Can you tell me what {a} and {b} currently hold?"))
    ra, rb = ep.call(("account_balance", {"account_id": a}), ("account_balance", {"account_id": b}))
    cur = ra["currency"]
    ep.say(choose(rng, f"{a} ({ra['label']}) has {money(ra['balance'], cur)} and {b} ({rb['label']}) has {money(rb['balance'], cur)}.",
                  f"Balances:\n- {a} ({ra['label']}): {money(ra['balance'], cur)}\n- {b} ({rb['label']}): {money(rb['balance'], cur)}",
                  f"Your {ra['label']} account {a} holds {money(ra['balance'], cur)}; your {rb['label']} account {b} holds "
                  f"{money(rb['balance'], cur)}."))
    if rng.random() < 0.5:  # a follow-up the results already answer: no call
        ep.user(choose(rng, "Which one has more?", "which of the two is bigger?", "And which account holds more money?"))
        (hi, ra_hi), (lo, ra_lo) = sorted(((a, ra), (b, rb)), key=lambda x: -x[1]["balance"])
        ep.say(f"{hi} ({ra_hi['label']}) has more: {money(ra_hi['balance'] - ra_lo['balance'], cur)} more than {lo}.")
    return ep, not failed(ra) and not failed(rb) and ra["balance"] != rb["balance"]


def transfer(rng: random.Random) -> tuple[Episode, bool]:
    """Transfer by label (look the ids up first) or by id (call at once). Funds short: by label the
    listing shows it, so ask first; by id the error shows it, so ask then. Retry with the user's amount."""
    env = Ledger.random(rng)
    frm, to = rng.sample(list(env.state["accounts"]), 2)
    have = env.state["accounts"][frm]["cents"] / 100
    short = rng.random() < 0.4
    amount = float(int(have) + rng.randint(50, 500)) if short else float(rng.randint(1, max(1, int(have * 0.8))))
    by_id = rng.random() < 0.4
    ep = Episode(env, rng, ["transfer_funds"] if by_id else ["list_accounts", "transfer_funds"])
    src, dst = (frm, to) if by_id else (env.state["accounts"][frm]["label"], env.state["accounts"][to]["label"])
    amt = f"{amount:g}"
    mine = "" if by_id else "my "
    ep.user(choose(rng, f"Move {amt} from {mine}{src} to {dst}.", f"Please transfer {amt} from {src} into {mine}{dst}",
                   f"I need {amt} moved over to {dst}, take it from {src}.", f"send {amt} from {src} to {dst}"))
    cur = env.state["currency"]
    args = {"from_account": frm, "to_account": to, "amount": num(amount)}
    if by_id:
        res = ep.one("transfer_funds", args)
        avail = float(res["error"].split(" has ")[1].split()[0]) if failed(res) else None
    else:
        listing = ep.one("list_accounts", {})
        accounts, cur = listing["accounts"], listing["currency"]
        args.update(from_account=_by_label(accounts, src), to_account=_by_label(accounts, dst))
        avail = next(a["balance"] for a in accounts if a["label"] == src)
        res = ep.one("transfer_funds", args) if avail >= amount else {"error": "short"}
    if failed(res):
        ep.say(choose(rng, f"{'That transfer failed: ' if by_id else ''}{src} only has {money(avail, cur)} available, "
                      f"less than {money(amount, cur)}. Would you like to transfer a smaller amount?",
                      f"There isn't enough in {src} for that: {money(avail, cur)} available, {money(amount, cur)} requested. "
                      f"How much should I move instead?"))
        amount = float(max(1, int(avail) // 2))
        ep.user(choose(rng, f"OK, move {amount:g} instead.", f"Fine, just send {amount:g} then.", f"Make it {amount:g}."))
        res = ep.one("transfer_funds", {**args, "amount": num(amount)})
    ep.say(choose(rng, f"Done: {money(res['amount'], cur)} went from {src} to {dst} ({res['transaction_id']}). "
                  f"{src[0].upper() + src[1:]} now holds {money(res['from_balance'], cur)} and {dst} {money(res['to_balance'], cur)}.",
                  f"Transferred {money(res['amount'], cur)} from {src} to {dst}. Transaction {res['transaction_id']}; new balances: "
                  f"{src} {money(res['from_balance'], cur)}, {dst} {money(res['to_balance'], cur)}."))
    moved = round(amount * 100)
    ok = (env.state["accounts"][frm]["cents"] == ep.initial["accounts"][frm]["cents"] - moved
          and env.state["accounts"][to]["cents"] == ep.initial["accounts"][to]["cents"] + moved)
    return ep, ok and not failed(res) and ep.errors == int(short and by_id)


def history(rng: random.Random) -> tuple[Episode, bool]:
    env = Ledger.random(rng)
    acc_id = rng.choice(list(env.state["accounts"]))
    label = env.state["accounts"][acc_id]["label"]
    n = rng.randint(2, 4)
    ep = Episode(env, rng, ["list_accounts", "transaction_history"])
    ep.user(choose(rng, f"What were the last {n} transactions on my {label} account?",
                   f"Show me my {n} most recent {label} transactions.", f"list the latest {n} payments from {label}"))
    accounts = ep.one("list_accounts", {})["accounts"]
    acc = _by_label(accounts, label)
    txs = ep.one("transaction_history", {"account_id": acc, "limit": n})["transactions"]
    cur = env.state["currency"]
    lines = [f"- {t['date']}: {t['description']}, {money(t['amount'], cur)}" for t in txs]
    ep.say(choose(rng, f"The last {len(txs)} transactions on {label} ({acc}):\n", f"Here are your {len(txs)} most recent {label} transactions:\n")
           + "\n".join(lines))
    return ep, len(txs) == n


def typo_then_followup(rng: random.Random) -> tuple[Episode, bool]:
    """The user mistypes an id: the error is shown, the user corrects it, then asks a follow-up."""
    env = Ledger.random(rng)
    acc_id, other = rng.sample(list(env.state["accounts"]), 2)
    digits = acc_id[4:]
    wrong = f"ACC-{digits[:2]}{digits[3]}{digits[2]}" if digits[2] != digits[3] else f"ACC-{digits[:3]}{(int(digits[3]) + 1) % 10}"
    ep = Episode(env, rng, ["account_balance", "transfer_funds"])
    ep.user(choose(rng, f"How much is in {wrong}?", f"balance of account {wrong}?", f"Check {wrong} for me please."))
    res = ep.one("account_balance", {"account_id": wrong})
    ep.say(f"I couldn't find an account with id {wrong}. Could you double-check the account number?")
    ep.user(choose(rng, f"Sorry, it's {acc_id}.", f"my bad, {acc_id}", f"Oops, I meant {acc_id}."))
    res = ep.one("account_balance", {"account_id": acc_id})
    cur = res["currency"]
    ep.say(f"{acc_id} ({res['label']}) has {money(res['balance'], cur)}.")
    amount = float(rng.randint(1, max(1, int(res["balance"] // 2))))
    ep.user(choose(rng, f"Great, send {amount:g} of it to {other}.", f"Then move {amount:g} to {other}.",
                   f"Transfer {amount:g} from it into {other}, memo 'refund'."))
    args = {"from_account": acc_id, "to_account": other, "amount": num(amount)}
    if "memo" in ep.messages[-1]["content"]:
        args["memo"] = "refund"
    t = ep.one("transfer_funds", args)
    ep.say(f"Transferred {money(t['amount'], cur)} to {other} ({t['transaction_id']}). {acc_id} now has "
           f"{money(t['from_balance'], cur)}.")
    ok = env.state["accounts"][other]["cents"] == ep.initial["accounts"][other]["cents"] + round(amount * 100)
    return ep, ok and ep.errors == 1


def rename(rng: random.Random) -> tuple[Episode, bool]:
    env = Ledger.random(rng)
    acc_id = rng.choice(list(env.state["accounts"]))
    old = env.state["accounts"][acc_id]["label"]
    new = rng.choice([x for x in ("flat share", "car fund", "kids savings", "daily spending", "tax reserve", "wedding")])
    ep = Episode(env, rng, ["list_accounts", "rename_account"])
    ep.user(choose(rng, f"Rename my {old} account to '{new}'.", f"call the {old} account \"{new}\" from now on",
                   f"Can you change the label of {old} to {new}?"))
    acc = _by_label(ep.one("list_accounts", {})["accounts"], old)
    res = ep.one("rename_account", {"account_id": acc, "label": new})
    ep.say(choose(rng, f"Renamed {acc} from '{old}' to '{res['label']}'.", f"Done, {acc} is now labelled '{res['label']}'."))
    return ep, env.state["accounts"][acc_id]["label"] == new


def overview(rng: random.Random) -> tuple[Episode, bool]:
    """Two different functions in one parallel turn: a balance and the recent history of the same account."""
    env = Ledger.random(rng)
    acc = rng.choice(list(env.state["accounts"]))
    n = rng.randint(2, 3)
    ep = Episode(env, rng, ["account_balance", "transaction_history"])
    ep.user(choose(rng, f"What's the balance of {acc}, and what were its last {n} transactions?",
                   f"For {acc}: current balance plus the {n} most recent transactions please.",
                   f"show me {acc}'s balance and last {n} payments"))
    bal, hist = ep.call(("account_balance", {"account_id": acc}), ("transaction_history", {"account_id": acc, "limit": n}))
    cur = bal["currency"]
    lines = "\n".join(f"- {t['date']}: {t['description']}, {money(t['amount'], cur)}" for t in hist["transactions"])
    ep.say(f"{acc} ({bal['label']}) holds {money(bal['balance'], cur)}. Its last {n} transactions:\n{lines}")
    return ep, len(hist["transactions"]) == n


def external(rng: random.Random) -> tuple[Episode, bool]:
    """Paying someone else is not something these tools do: say so without a call, then help with what they do."""
    env = Ledger.random(rng)
    ep = Episode(env, rng, ["list_accounts", "transfer_funds"])
    iban = f"{rng.choice(('DE', 'FR', 'NL', 'ES'))}{rng.randint(10, 99)} {rng.randint(1000, 9999)} {rng.randint(1000, 9999)} {rng.randint(10, 99)}"
    who = rng.choice(("my landlord", "my sister", "a friend", "the plumber"))
    ep.user(choose(rng, f"Send 120 to {who}, IBAN {iban}.", f"Please pay {who} 75 at {iban}", f"wire 300 to {iban} ({who})"))
    ep.say(choose(rng, "I can only move money between your own accounts, so I can't pay an outside IBAN. "
                       "I can transfer between your accounts or show balances if that helps.",
                  f"Sorry, transfers to other people's accounts like {iban} aren't possible with the tools I have: "
                  "they only move money between your own accounts."))
    if rng.random() < 0.5:
        return ep, True
    frm, to = rng.sample(list(env.state["accounts"]), 2)
    src, dst = env.state["accounts"][frm]["label"], env.state["accounts"][to]["label"]
    amount = rng.randint(1, max(1, int(env.state["accounts"][frm]["cents"] / 200)))
    ep.user(choose(rng, f"OK, then move {amount} from {src} to {dst}.", f"Fine. Put {amount} from my {src} into {dst} instead."))
    listing = ep.one("list_accounts", {})
    args = {"from_account": _by_label(listing["accounts"], src), "to_account": _by_label(listing["accounts"], dst), "amount": amount}
    res = ep.one("transfer_funds", args)
    cur = listing["currency"]
    ep.say(f"Moved {money(res['amount'], cur)} from {src} to {dst} ({res['transaction_id']}); {src} now has "
           f"{money(res['from_balance'], cur)}.")
    return ep, not failed(res)


SCENARIOS = {"balances": balances, "external": external, "overview": overview, "rename": rename, "transfer": transfer, "history": history, "typo_then_followup": typo_then_followup}
