"""Delay statistics that enter the convergence bounds.

A bound for a step ``eta_t = eta0 * s(tau_t)`` needs a few numbers about the delays and
the scale ``s``: the maximum delay ``tau_max``, and (for delays drawn i.i.d. from a pmf
``P``) ``m1 = E_P[s]``, ``m2 = E_P[s^2]``, ``m_tau = E_P[s tau]``, ``m_tau2 = E_P[s tau^2]``
and ``s_max = max s`` on ``0..tau_max``. For an arbitrary (adversarial) delay sequence with
a constant step the same formulas apply with ``m1 = m2 = s_max = 1`` and ``m_tau = tau_avg``,
the average delay; ``m_tau2 = tau_max tau_avg`` is then the largest ``E[tau^2]`` of any pmf
with that maximum and mean. ``workers``: how many gradients can be in flight at once.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from theory.staleness import PmfLike, StalenessModel, as_pmf, truncated_pmf
from theory.stepsize import StepSize

__all__ = ["DelayMoments", "delay_moments"]


@dataclass(frozen=True)
class DelayMoments:
    """``tau_max``, ``m1 = E[s]``, ``m2 = E[s^2]``, ``m_tau = E[s tau]``, ``s_max``,
    ``m_tau2 = E[s tau^2]``, whether the delays are i.i.d., and the workers (or ``None``)."""

    tau_max: int
    m1: float
    m2: float
    m_tau: float
    s_max: float
    iid: bool
    m_tau2: float = 0.0
    workers: int | None = None
    constant_step: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def delay_moments(
    *,
    pmf: PmfLike | None = None,
    rule: StepSize | None = None,
    tau_max: int | None = None,
    tau_avg: float | None = None,
    workers: int | None = None,
) -> DelayMoments:
    """Summarize delays for the bounds.

    With ``pmf``: delays i.i.d. from ``pmf`` (a model is cut at ``tau_max`` or at a 1e-9
    tail and renormalized), step scale ``rule`` (default constant). Without: any delay
    sequence with ``tau_t <= tau_max`` and average ``tau_avg`` (default ``tau_max``); only a
    constant step is covered then, since the adaptive analysis needs delays independent of
    the iterates.

    >>> delay_moments(tau_max=4, tau_avg=1.5).m_tau
    1.5
    """
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if pmf is not None:
        if tau_avg is not None:
            raise ValueError("give either a delay pmf or tau_avg, not both")
        if tau_max is not None and tau_max < 0:
            raise ValueError(f"tau_max must be >= 0, got {tau_max}")
        if isinstance(pmf, StalenessModel):
            p = truncated_pmf(pmf, tau_max)
        else:
            p = as_pmf(pmf)
            if tau_max is not None:
                p = p[: tau_max + 1] / p[: tau_max + 1].sum()
        k = np.arange(p.size, dtype=np.float64)
        s = np.ones_like(k) if rule is None else np.asarray(rule(k), dtype=np.float64)
        if not np.all(np.isfinite(s)) or np.any(s < 0):
            raise ValueError("the step-size rule must be finite and >= 0 on the delay support")
        support = p > 0
        return DelayMoments(
            tau_max=int(np.flatnonzero(support).max()),
            m1=float(np.dot(p, s)),
            m2=float(np.dot(p, s * s)),
            m_tau=float(np.dot(p, s * k)),
            s_max=float(s[support].max()),
            iid=True,
            m_tau2=float(np.dot(p, s * k * k)),
            workers=workers,
            constant_step=rule is None or bool(np.all(s[support] == s[support][0])),
        )
    if tau_max is None:
        raise ValueError("give a delay pmf or tau_max")
    if tau_max < 0:
        raise ValueError(f"tau_max must be >= 0, got {tau_max}")
    if rule is not None:
        raise ValueError("a staleness-adaptive rule needs a delay pmf (i.i.d. delays)")
    avg = float(tau_max) if tau_avg is None else float(tau_avg)
    if not (np.isfinite(avg) and 0.0 <= avg <= tau_max):
        raise ValueError(f"tau_avg must be in [0, tau_max={tau_max}], got {tau_avg}")
    return DelayMoments(
        tau_max=int(tau_max),
        m1=1.0,
        m2=1.0,
        m_tau=avg,
        s_max=1.0,
        iid=False,
        m_tau2=tau_max * avg,
        workers=workers,
    )
