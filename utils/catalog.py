"""The course's table of contents: fourteen papers in five parts, one place for all of it.

Used by the preface, the book (landing page, citations, references) and the scoreboard, so a
paper's title or a chapter's file name is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass

PARTS = {
    1: "Scoring probabilities",
    2: "Scores and fairness",
    3: "Scoring people",
    4: "Scores inside models",
    5: "Score functions of generative models",
}


@dataclass(frozen=True)
class Chapter:
    number: int
    slug: str  # file stem in chapters/ and solutions/ (exercises/: SLUG-exercises)
    part: int
    score: str  # the kind of score the chapter teaches
    title: str  # the paper's title
    authors: str
    year: int
    venue: str
    arxiv: str | None
    code: str | None  # official code, when there is one
    module: str = (
        ""  # the paper module in utils/: the paper's method, mapped to its equations
    )
    uses: tuple[
        str, ...
    ] = ()  # other utils modules the chapter relies on (shared machinery)

    @property
    def notebook(self) -> str:
        return f"{self.slug}.ipynb"

    @property
    def paper_url(self) -> str | None:
        return f"https://arxiv.org/abs/{self.arxiv}" if self.arxiv else None

    @property
    def modules(self) -> tuple[str, ...]:
        """Every utils module the chapter uses, its paper module first."""
        return (self.module, *self.uses)

    def citation(self) -> str:
        arxiv = f", arXiv:{self.arxiv}" if self.arxiv else ""
        return f"{self.authors} ({self.year}). {self.title}. {self.venue}{arxiv}."


CHAPTERS = [
    Chapter(
        1,
        "01-balance-score",
        1,
        "calibration of a win probability (Balance score)",
        "Rethinking Evaluation Metric for Probability Estimation Models Using Esports Data",
        "Euihyeon Choi, Jooyoung Kim, Wonkyung Lee",
        2023,
        "arXiv preprint",
        "2309.06248",
        None,
        module="calibration",
        uses=("esports_sim",),
    ),
    Chapter(
        2,
        "02-llm-risk-scores",
        1,
        "a language model's answer probability as a risk score",
        "Evaluating language models as risk scores",
        "André F. Cruz, Moritz Hardt, Celestine Mendler-Dünner",
        2024,
        "NeurIPS 2024 Datasets and Benchmarks",
        "2407.14614",
        "https://github.com/socialfoundations/folktexts",
        module="risk_scores",
        uses=("tiny_lm",),
    ),
    Chapter(
        3,
        "03-weak-proxies-fairness",
        2,
        "a fairness estimate from proxy attributes",
        "Weak Proxies are Sufficient and Preferable for Fairness with Missing Sensitive Attributes",
        "Zhaowei Zhu, Yuanshun Yao, Jiankai Sun, Hang Li, Yang Liu",
        2023,
        "ICML 2023",
        "2210.03175",
        "https://github.com/UCSC-REAL/fair-eval",
        module="fairness",
        uses=(),
    ),
    Chapter(
        4,
        "04-fair-multiwinner-selection",
        2,
        "multiwinner scoring rules under biased rankings",
        "Subset Selection Based On Multiple Rankings in the Presence of Bias: Effectiveness of "
        "Fairness Constraints for Multiwinner Voting Score Functions",
        "Niclas Boehmer, L. Elisa Celis, Lingxiao Huang, Anay Mehrotra, Nisheeth K. Vishnoi",
        2023,
        "ICML 2023",
        "2306.09835",
        "https://github.com/AnayMehrotra/Selection-with-Multiple-Rankings-with-Bias",
        module="voting",
        uses=(),
    ),
    Chapter(
        5,
        "05-aes-robustness",
        3,
        "an automatic essay score",
        "AES Systems Are Both Overstable And Oversensitive: Explaining Why And Proposing Defenses",
        "Yaman Kumar Singla, Swapnil Parekh, Somesh Singh, Junyi Jessy Li, Rajiv Ratn Shah, "
        "Changyou Chen",
        2021,
        "arXiv preprint (journal version in Dialogue & Discourse)",
        "2109.11728",
        "https://github.com/midas-research/aes-overstable-oversensitive",
        module="essay_scoring",
        uses=(),
    ),
    Chapter(
        6,
        "06-parallel-tests",
        3,
        "item difficulty and parallel test scores",
        "Generating and Evaluating Tests for K-12 Students with Language Model Simulations: "
        "A Case Study on Sentence Reading Efficiency",
        "Eric Zelikman, Wanjing Anya Ma, Jasmine E. Tran, Diyi Yang, Jason D. Yeatman, Nick Haber",
        2023,
        "EMNLP 2023",
        "2310.06837",
        None,
        module="item_response",
        uses=(),
    ),
    Chapter(
        7,
        "07-psydi-measurement",
        3,
        "a progressive psychological measurement score",
        "PsyDI: Towards a Personalized and Progressively In-depth Chatbot for Psychological "
        "Measurements",
        "Xueyan Li, Xinyan Chen, Yazhe Niu, Shuai Hu, Yu Liu",
        2024,
        "arXiv preprint",
        "2408.03337",
        "https://github.com/opendilab/PsyDI",
        module="psychometrics",
        uses=(),
    ),
    Chapter(
        8,
        "08-restructured-pretraining",
        4,
        "exam scores of a pre-trained model",
        "reStructured Pre-training",
        "Weizhe Yuan, Pengfei Liu",
        2022,
        "arXiv preprint",
        "2206.11147",
        "https://github.com/ExpressAI/reStructured-Pretraining",
        module="restructured",
        uses=("tiny_lm",),
    ),
    Chapter(
        9,
        "09-influence-scores",
        4,
        "influence scores for data pruning",
        "Influence Scores at Scale for Efficient Language Data Sampling",
        "Nikhil Anand, Joshua Tan, Maria Minakova",
        2023,
        "EMNLP 2023",
        "2311.16298",
        None,
        module="influence",
        uses=(),
    ),
    Chapter(
        10,
        "10-dynamic-subspace-learners",
        4,
        "learned similarity scores in subspaces",
        "Attention-based Dynamic Subspace Learners for Medical Image Analysis",
        "Sukesh Adiga Vasudeva, Jose Dolz, Herve Lombaert",
        2022,
        "IEEE Journal of Biomedical and Health Informatics 26(9)",
        "2206.09068",
        "https://github.com/adigasu/Dynamic_subspace_learners",
        module="metric_learning",
        uses=(),
    ),
    Chapter(
        11,
        "11-implicit-multimodal-alignment",
        4,
        "an implicit multimodal alignment score",
        "Implicit Multimodal Alignment: On the Generalization of Frozen LLMs to Multimodal Inputs",
        "Mustafa Shukor, Matthieu Cord",
        2024,
        "NeurIPS 2024",
        "2405.16700",
        "https://github.com/mshukor/ima-lmms",
        module="multimodal",
        uses=("tiny_lm",),
    ),
    Chapter(
        12,
        "12-score-estimation",
        5,
        "the score function, learned by regression",
        "Neural Network-Based Score Estimation in Diffusion Models: Optimization and Generalization",
        "Yinbin Han, Meisam Razaviyayn, Renyuan Xu",
        2024,
        "ICLR 2024",
        "2401.15604",
        None,
        module="score_matching",
        uses=(),
    ),
    Chapter(
        13,
        "13-radd-discrete-diffusion",
        5,
        "the concrete score of discrete diffusion",
        "Your Absorbing Discrete Diffusion Secretly Models the Conditional Distributions of Clean Data",
        "Jingyang Ou, Shen Nie, Kaiwen Xue, Fengqi Zhu, Jiacheng Sun, Zhenguo Li, Chongxuan Li",
        2025,
        "ICLR 2025",
        "2406.03736",
        "https://github.com/ML-GSAI/RADD",
        module="discrete_diffusion",
        uses=(),
    ),
    Chapter(
        14,
        "14-disback-distillation",
        5,
        "score distillation along a backtracked path",
        "Distribution Backtracking Builds A Faster Convergence Trajectory for Diffusion Distillation",
        "Shengyuan Zhang, Ling Yang, Zejian Li, An Zhao, Chenye Meng, Changyuan Yang, Guang Yang, "
        "Zhiyuan Yang, Lingyun Sun",
        2025,
        "ICLR 2025",
        "2408.15991",
        "https://github.com/SYZhang0805/DisBack",
        module="distillation",
        uses=(),
    ),
]

BY_NUMBER = {c.number: c for c in CHAPTERS}


def chapter(number: int) -> Chapter:
    """The catalog entry of chapter ``number`` (1-14)."""
    if number not in BY_NUMBER:
        raise KeyError(
            f"no chapter {number}; chapters are numbered 1 to {len(CHAPTERS)}"
        )
    return BY_NUMBER[number]
