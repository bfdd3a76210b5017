"""The MLflow "model from code" entry: MLflow runs this file to build the pyfunc model.

Logging a file instead of a pickled Python object (MLflow 3's recommended way) means loading the
model imports our code rather than unpickling a class by reference.
"""

import mlflow

from training.tracking import ClaimriskPyfunc

mlflow.models.set_model(ClaimriskPyfunc())
