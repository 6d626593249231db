package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/galleon-project/galleon"
)

const operationColumns = `id, subscription_id, location, kind, target, status, start_time, end_time, error`

func insertOperation(ctx context.Context, tx *tx, op *galleon.Operation) error {
	errJSON, err := operationError(op.Error)
	if err != nil {
		return err
	}
	_, err = tx.exec(ctx, `INSERT INTO operations (id, subscription_id, location, kind, target, target_fold, status, start_time, end_time, error)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		op.ID, galleon.Fold(op.SubscriptionID), op.Location, op.Kind, op.Target, galleon.Fold(op.Target), op.Status, ts(op.StartTime), nullTS(op.EndTime), errJSON)
	return err
}

func operationError(e *galleon.Error) (sql.NullString, error) {
	if e == nil {
		return sql.NullString{}, nil
	}
	s, err := toJSON(map[string]string{"code": e.Code, "message": e.Message, "target": e.Target})
	return sql.NullString{String: s, Valid: true}, err
}

func scanOperations(rows *sql.Rows, err error) ([]galleon.Operation, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []galleon.Operation
	for rows.Next() {
		var op galleon.Operation
		var start string
		var end, errJSON sql.NullString
		if err := rows.Scan(&op.ID, &op.SubscriptionID, &op.Location, &op.Kind, &op.Target, &op.Status, &start, &end, &errJSON); err != nil {
			return nil, err
		}
		if op.StartTime, err = parseTS(start); err != nil {
			return nil, err
		}
		if end.Valid {
			t, err := parseTS(end.String)
			if err != nil {
				return nil, err
			}
			op.EndTime = &t
		}
		if errJSON.Valid {
			var e map[string]string
			if err := fromJSON(errJSON.String, &e); err != nil {
				return nil, err
			}
			op.Error = &galleon.Error{Code: e["code"], Message: e["message"], Target: e["target"]}
		}
		out = append(out, op)
	}
	return out, rows.Err()
}

// GetOperation returns an operation of the subscription, or OperationNotFound.
func (s *DB) GetOperation(ctx context.Context, subscriptionID, id string) (op *galleon.Operation, err error) {
	defer galleon.Wrap(&err, "GetOperation(%s)", id)
	ops, err := scanOperations(s.r().query(ctx, `SELECT `+operationColumns+` FROM operations WHERE id = ? AND subscription_id = ?`,
		id, galleon.Fold(subscriptionID)))
	if err != nil {
		return nil, err
	}
	if len(ops) == 0 {
		return nil, galleon.Errorf(galleon.CodeOperationNotFound, "The operation '%s' could not be found.", id)
	}
	return &ops[0], nil
}

// ListOperations returns the operations with status, oldest first.
func (s *DB) ListOperations(ctx context.Context, status string) (ops []galleon.Operation, err error) {
	defer galleon.Wrap(&err, "ListOperations(%s)", status)
	return scanOperations(s.r().query(ctx, `SELECT `+operationColumns+` FROM operations WHERE status = ? ORDER BY start_time, id`, status))
}

// CompleteOperation ends an in-progress operation.
func (s *DB) CompleteOperation(ctx context.Context, id, status string, opErr *galleon.Error, end time.Time) (err error) {
	defer galleon.Wrap(&err, "CompleteOperation(%s)", id)
	errJSON, err := operationError(opErr)
	if err != nil {
		return err
	}
	return s.transact(ctx, func(tx *tx) error {
		_, err := tx.exec(ctx, `UPDATE operations SET status = ?, end_time = ?, error = ? WHERE id = ? AND status = ?`,
			status, ts(end), errJSON, id, galleon.OperationInProgress)
		return err
	})
}

// StartOperation records an operation and queues its work item.
func (s *DB) StartOperation(ctx context.Context, op *galleon.Operation) (err error) {
	defer galleon.Wrap(&err, "StartOperation(%s)", op.ID)
	return s.transact(ctx, func(tx *tx) error {
		if err := insertOperation(ctx, tx, op); err != nil {
			return err
		}
		return insertWork(ctx, tx, galleon.WorkOperation, op.SubscriptionID+"/"+op.ID, tx.now)
	})
}
