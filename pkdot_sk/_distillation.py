"""The distillation methods, one record each: which tensors the method
compares, its loss built from the student's parameters, its default weight.

A new baseline is its loss in :mod:`pkdot_sk.losses` and one ``Method`` here;
the student reads everything else (validation, the net's keyword arguments,
several teachers) from the record.
"""

import functools
from dataclasses import dataclass
from typing import Callable

from . import losses


@dataclass(frozen=True)
class Method:
    """A distillation method.

    Attributes
    ----------
    name : str
        The value of ``PKDOTStudent(distillation=...)``.
    teacher : {"embedding", "output"}
        What is distilled: the teacher's fused embedding or its outputs
        (logits, level or regression values).
    student : {"embedding", "output", "adapted"}
        What is compared with it: the student's embedding, its outputs, or
        its embedding projected to the teacher's width by a learned adapter.
    loss : callable
        ``loss(student) -> loss(student_tensor, teacher_tensor)`` from the
        student estimator's parameters.
    default_weight : float or None
        The term's weight when ``distillation_weight=None``: the value the
        method's reference uses (None: PKDOT, weighted by ``ot_weight``).
    within_batch : bool
        Compares the samples of a mini-batch with one another: a batch of
        one row has no structure, the term is identically 0 there.
    max_weight : float or None
        The largest ``distillation_weight`` (gd's imitation parameter is a
        share of the loss: at most 1).
    weight_parameter, warmup_parameter : str or None
        The student's parameters that hold this method's own weight and
        warm-up epochs (PKDOT: ``ot_weight``, ``ot_warmup``); None: the
        weight is ``distillation_weight`` and there is no warm-up.
    """

    name: str
    teacher: str
    student: str
    loss: Callable
    default_weight: float = None
    within_batch: bool = False
    max_weight: float = None
    weight_parameter: str = None
    warmup_parameter: str = None

    def term_weight(self, student):
        """The weight of this method's term in the student's loss."""
        if self.weight_parameter is not None:
            return getattr(student, self.weight_parameter)
        if student.distillation_weight is None:
            return self.default_weight
        return student.distillation_weight

    def task_weight(self, weight):
        """The task loss's weight: a method whose weight is a share of the
        loss (gd interpolates between the labels and the teacher) leaves the
        rest to the task; the others add their term to it."""
        return 1.0 - weight if self.max_weight is not None else 1.0

    def net_arguments(self, student, teacher_widths, teacher_weights, select_per_batch):
        """The distillation_* keyword arguments of the student's net: the
        loss (wrapped for several teachers), its weight, the student tensor
        it reads, the task loss's weight and the warm-up."""
        loss = self.loss(student)
        split_student = self.student == "adapted"
        if select_per_batch:
            loss = functools.partial(losses.best_teacher_loss, loss=loss, widths=teacher_widths,
                                     split_student=split_student)
        elif teacher_widths is not None and len(teacher_widths) > 1:
            loss = functools.partial(losses.multi_teacher_loss, loss=loss, widths=teacher_widths,
                                     weights=teacher_weights, split_student=split_student)
        weight = self.term_weight(student)
        return dict(distillation_loss=loss, distillation_weight=weight,
                    distillation_input=self.student, task_weight=self.task_weight(weight),
                    distillation_warmup=(getattr(student, self.warmup_parameter)
                                         if self.warmup_parameter is not None else 0))


def _pkdot(student):
    return functools.partial(losses.pkdot_loss, top_k=student.top_k, anchors=student.anchors,
                             reg=student.ot_reg, center=student.ot_center,
                             normalize=student.ot_normalize, max_iter=student.ot_max_iter,
                             tol=student.ot_tol)


def _fixed(loss):
    """A loss without parameters from the estimator."""
    return lambda student: loss


METHODS = {method.name: method for method in (
    Method("pkdot", "embedding", "embedding", _pkdot, within_batch=True,
           weight_parameter="ot_weight", warmup_parameter="ot_warmup"),
    # The SP paper weights its loss by 3000; rkd's distance/angle weights
    # are inside rkd_loss; gd's weight is its imitation parameter.
    Method("logit", "output", "output",
           lambda student: functools.partial(losses.logit_kd_loss,
                                             temperature=student.temperature),
           default_weight=1.0),
    Method("gd", "output", "output",
           lambda student: functools.partial(losses.generalized_distillation_loss,
                                             temperature=student.temperature,
                                             task=student.task),
           default_weight=0.5, max_weight=1.0),
    Method("feature", "embedding", "adapted", _fixed(losses.feature_distillation_loss),
           default_weight=1.0),
    Method("rkd", "embedding", "embedding", _fixed(losses.rkd_loss), default_weight=1.0,
           within_batch=True),
    Method("sp", "embedding", "embedding", _fixed(losses.similarity_preserving_loss),
           default_weight=3000.0, within_batch=True),
    Method("pkt", "embedding", "embedding", _fixed(losses.pkt_loss), default_weight=1.0,
           within_batch=True),
)}

#: Every value of ``PKDOTStudent(distillation=...)``: the methods and "none".
DISTILLATION_METHODS = ("pkdot", "none", "logit", "gd", "feature", "rkd", "sp", "pkt")
